using Service.Models.Diffusion;

namespace Service.Tests.Diffusion;

public sealed class TrajectoryTests
{
    [Theory]
    [InlineData(10, 4, new[] { 1, 4, 7, 10 })]
    [InlineData(8, 3, new[] { 1, 4, 8 })] // 4.5 rounds to even, as Python's round
    [InlineData(1000, 7, new[] { 1, 168, 334, 500, 667, 834, 1000 })] // 167.5 → 168, 500.5 → 500, 833.5 → 834
    [InlineData(1000, 10, new[] { 1, 112, 223, 334, 445, 556, 667, 778, 889, 1000 })]
    [InlineData(5, 1, new[] { 5 })]
    [InlineData(5, 5, new[] { 1, 2, 3, 4, 5 })]
    [InlineData(2, 2, new[] { 1, 2 })]
    // A tie decided by the running sum: 1 + 10 · 4.95 accumulates to 50.50000000000001 → 51 (the exact 50.5 would give 50).
    [InlineData(100, 21, new[] { 1, 6, 11, 16, 21, 26, 31, 36, 41, 46, 51, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100 })]
    public void Even_trajectory_by_hand(int steps, int count, int[] expected) =>
        Assert.Equal(expected, Trajectory.Even(steps, count));

    [Fact]
    public void Even_trajectory_matches_the_official_accumulating_loop()
    {
        // Analytic-DPM's _choice_steps_linear: cur = 1; repeat K times { append(round(cur)); cur += (N − 1)/(K − 1) }.
        foreach (var steps in new[] { 10, 100, 1000, 4000 })
        {
            for (var count = 2; count <= Math.Min(steps, 250); count++)
            {
                var stride = (steps - 1) / (double)(count - 1);
                var current = 1.0;
                var official = new int[count];
                for (var k = 0; k < count; k++)
                {
                    official[k] = (int)Math.Round(current, MidpointRounding.ToEven);
                    current += stride;
                }
                Assert.Equal(official, Trajectory.Even(steps, count));
            }
        }
    }

    [Theory]
    [InlineData(100, 5, new[] { 1, 7, 26, 57, 100 })]
    [InlineData(10, 8, new[] { 1, 2, 3, 4, 5, 6, 8, 10 })] // raw 1, 1, 2, 3, 4, 6, 8, 10: repeats lifted
    [InlineData(6, 6, new[] { 1, 2, 3, 4, 5, 6 })]
    [InlineData(50, 1, new[] { 50 })]
    public void Quadratic_trajectory_by_hand(int steps, int count, int[] expected) =>
        Assert.Equal(expected, Trajectory.Quadratic(steps, count));

    [Fact]
    public void Quadratic_trajectories_are_strictly_increasing_from_1_to_N()
    {
        foreach (var steps in new[] { 2, 7, 50, 1000 })
        {
            for (var count = 2; count <= Math.Min(steps, 120); count++)
            {
                var tau = Trajectory.Quadratic(steps, count);
                Assert.Equal(count, tau.Length);
                Assert.Equal(1, tau[0]);
                Assert.Equal(steps, tau[^1]);
                Trajectory.Validate(tau, steps);
            }
        }
    }

    public static TheoryData<double, bool> DpCases => new()
    {
        { 1.0, false },
        { 1.0, true },
        { 0.5, false },
        { 0.0, false }, // DDIM η = 0 uses the η = 1 cost
    };

    [Theory]
    [MemberData(nameof(DpCases))]
    public void Dynamic_programming_equals_brute_force_on_N_8_K_4(double eta, bool unitBox)
    {
        var schedule = NoiseSchedule.Cosine(8);
        foreach (var gamma in GammaTables(schedule))
        {
            var dp = Trajectory.Optimal(schedule, gamma, 4, eta, unitBox);

            var (best, bestCost) = BruteForce(schedule, 4, tau => Trajectory.Cost(schedule, gamma, tau, eta, unitBox));
            Assert.Equal(best, dp);
            DiffusionStats.Relative(bestCost, Trajectory.Cost(schedule, gamma, dp, eta, unitBox), 1e-12, "J(τ)");
        }
    }

    [Fact]
    public void Ddpm_cost_has_the_official_argmin()
    {
        // log(σ̂²/λ²) and the official log(1 − β_{t|s} Γ_t/β̄_t) differ by log(β̄_t/ᾱ_t) − log(β̄_s/ᾱ_s), which telescopes.
        var schedule = NoiseSchedule.Cosine(8);
        foreach (var gamma in GammaTables(schedule))
        {
            foreach (var count in new[] { 2, 3, 4, 5, 6 })
            {
                var (official, _) = BruteForce(schedule, count, tau =>
                {
                    var total = 0.0;
                    for (var k = 1; k < tau.Length; k++)
                        total += Math.Log(1 - schedule.BetaTS(tau[k - 1], tau[k]) * gamma[tau[k]] / schedule.BetaBar(tau[k]));
                    return total;
                });
                Assert.Equal(official, Trajectory.Optimal(schedule, gamma, count, eta: 1));
                Assert.Equal(Trajectory.Optimal(schedule, gamma, count, eta: 1), Trajectory.Optimal(schedule, gamma, count, eta: 0));
            }
        }
    }

    [Fact]
    public void Optimal_trajectory_on_N_1000_beats_the_even_one_and_is_well_formed()
    {
        var model = GaussianModel.Gauss64();
        var gamma = model.ExactGammaTable();

        foreach (var count in new[] { 1, 2, 10, 50 })
        {
            var tau = Trajectory.Optimal(model.Schedule, gamma, count, eta: 1);
            Assert.Equal(count, tau.Length);
            Trajectory.Validate(tau, 1000);
            Assert.Equal(1000, tau[^1]);
            if (count >= 2)
            {
                Assert.Equal(1, tau[0]);
                Assert.True(Trajectory.Cost(model.Schedule, gamma, tau, 1) <= Trajectory.Cost(model.Schedule, gamma, Trajectory.Even(1000, count), 1) + 1e-9);
            }
        }
        Assert.Equal(Enumerable.Range(1, 1000), Trajectory.Optimal(model.Schedule, gamma, 1000, eta: 1));
    }

    [Fact]
    public void Poorly_estimated_gamma_above_one_gets_the_official_segmented_split()
    {
        // Γ_n > 1 from n = 576 (as the M = 100 estimate of the MNIST UNet): bad = 2(1000 − 576 + 1) = 850, N₁ = 150,
        // K₁ = ⌈(1 − 0.8 · 0.85) · 10⌉ = 4, K₂ = 6 evenly spaced steps of 850/6 ending at N.
        var model = GaussianModel.Gauss64();
        var gamma = model.ExactGammaTable();
        for (var n = 576; n <= 1000; n += 2)
            gamma[n] = 1.01;

        var tau = Trajectory.Optimal(model.Schedule, gamma, 10, eta: 1, dataInUnitBox: true);

        Trajectory.Validate(tau, 1000);
        Assert.Equal([150, 292, 433, 575, 717, 858, 1000], tau[3..]);
        Assert.Equal(1, tau[0]);
        int[] prefix = tau[..4];
        var prefixCost = Trajectory.Cost(model.Schedule, gamma, prefix, 1, dataInUnitBox: true);
        foreach (var a in new[] { 2, 20, 50, 75 })
        {
            foreach (var b in new[] { 100, 120, 149 })
                Assert.True(prefixCost <= Trajectory.Cost(model.Schedule, gamma, [1, a, b, 150], 1, dataInUnitBox: true) + 1e-12);
        }
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        var schedule = NoiseSchedule.Cosine(8);
        Assert.Throws<ArgumentOutOfRangeException>(() => Trajectory.Even(8, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Trajectory.Even(8, 9));
        Assert.Throws<ArgumentException>(() => Trajectory.Optimal(schedule, new double[8], 4, 1));
        Assert.Throws<ArgumentException>(() => Trajectory.Validate([1, 3, 3], 8));
        Assert.Throws<ArgumentException>(() => Trajectory.Validate([0, 3], 8));
        Assert.Throws<ArgumentException>(() => Trajectory.Validate([2, 9], 8));
    }

    /// <summary>An exact Gaussian Γ (smooth, realistic) and a rough one in (0, 1) that makes the DP's choices less obvious.</summary>
    static IEnumerable<double[]> GammaTables(NoiseSchedule schedule)
    {
        yield return new GaussianModel(schedule, [0.1, -0.2, 0.3], [0.5, 0.1, 0.02]).ExactGammaTable();
        var random = new Random(3);
        var rough = new double[schedule.Steps + 1];
        for (var n = 1; n <= schedule.Steps; n++)
            rough[n] = 0.05 + 0.9 * random.NextDouble();
        yield return rough;
    }

    /// <summary>Every τ with τ_1 = 1 &lt; … &lt; τ_K = N, and the one with the least cost.</summary>
    static (int[] Best, double Cost) BruteForce(NoiseSchedule schedule, int count, Func<int[], double> cost)
    {
        var steps = schedule.Steps;
        int[]? best = null;
        var bestCost = double.PositiveInfinity;
        var middle = Enumerable.Range(2, steps - 2).ToArray();
        foreach (var inner in Subsets(middle, count - 2))
        {
            int[] tau = [1, .. inner, steps];
            var c = cost(tau);
            if (c < bestCost)
            {
                bestCost = c;
                best = tau;
            }
        }
        return (best!, bestCost);
    }

    static IEnumerable<int[]> Subsets(int[] items, int size)
    {
        if (size == 0)
        {
            yield return [];
            yield break;
        }
        for (var i = 0; i <= items.Length - size; i++)
        {
            foreach (var rest in Subsets(items[(i + 1)..], size - 1))
                yield return [items[i], .. rest];
        }
    }
}
