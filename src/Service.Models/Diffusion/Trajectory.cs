using System.Numerics.Tensors;

namespace Service.Models.Diffusion;

/// <summary>
/// Sampling trajectories 1 ≤ τ_1 &lt; … &lt; τ_K ≤ N: the K timesteps at which the reverse process evaluates ε̂.
/// </summary>
/// <remarks>
/// <para>Convention (Analytic-DPM's official code): the sampler starts from x_{τ_K}, steps τ_k → τ_{k−1} for
/// k = K..2, and the final step goes from τ_1 to τ_0 = 0 by outputting x̂₀ without noise. τ_0 = 0 is implicit and never
/// stored. <see cref="Even"/>, <see cref="Quadratic"/> and <see cref="Optimal"/> all return τ_1 = 1 and τ_K = N
/// (for K ≥ 2), so every trajectory ends its noisy part at the least-noisy timestep the model was trained on.</para>
/// <para>Notation:</para>
/// <code>
/// steps // N, the forward process's length
/// count // K, the number of model evaluations
/// gamma // Γ_n = E‖ε̂(x_n, n)‖²/d for n = 1..N, index n (index 0 unused)
/// cost  // J(s, t), the contribution of the step s &lt; t to the negative ELBO (up to constants)
/// </code>
/// </remarks>
public static class Trajectory
{
    /// <summary>
    /// The even trajectory τ_k = round(1 + (k − 1)(N − 1)/(K − 1)), k = 1..K (Analytic-DPM's "linear" steps, used for FID);
    /// K = 1 gives [N].
    /// </summary>
    /// <remarks>
    /// Computed as the official code does — a running sum of the stride in double, rounded half to even like Python's
    /// round — so the timesteps are identical to the published runs. It equals the formula except at exact .5 ties, where
    /// the running sum's last bit decides (N = 100, K = 21: 1 + 10 · 4.95 sums to 50.50000000000001 → 51, while the exact
    /// 50.5 would round to 50).
    /// </remarks>
    public static int[] Even(int steps, int count)
    {
        CheckCount(steps, count);
        if (count == 1)
            return [steps];
        var stride = (steps - 1) / (double)(count - 1);
        var tau = new int[count];
        var current = 1.0;
        for (var k = 0; k < count; k++)
        {
            tau[k] = (int)Math.Round(current, MidpointRounding.ToEven);
            current += stride;
        }
        return tau;
    }

    /// <summary>
    /// The quadratic trajectory of DDIM (Song et al., 2021: τ_k ∝ k², the official code's "quad" skip), anchored like <see cref="Even"/>:
    /// τ_k = round(1 + (N − 1)((k − 1)/(K − 1))²), then made strictly increasing by lifting each repeat to its
    /// predecessor + 1. DDIM's own variant stops at 0.8 N; ending at N keeps every trajectory starting from x_N.
    /// Dense near n = 1, where small steps matter most for sample quality. K = 1 gives [N].
    /// </summary>
    public static int[] Quadratic(int steps, int count)
    {
        CheckCount(steps, count);
        if (count == 1)
            return [steps];
        var tau = new int[count];
        for (var k = 1; k <= count; k++)
        {
            var u = (k - 1) / (double)(count - 1);
            tau[k - 1] = (int)Math.Round(1 + (steps - 1) * u * u, MidpointRounding.ToEven);
        }
        // Early values collide (k² grows slowly); lift repeats forwards, then pull back any overshoot of the tail so
        // the trajectory still ends at N. With K ≤ N both passes leave 1 = τ_1 < … < τ_K = N.
        for (var k = 1; k < count; k++)
            tau[k] = Math.Max(tau[k], tau[k - 1] + 1);
        tau[count - 1] = steps;
        for (var k = count - 2; k >= 0; k--)
            tau[k] = Math.Min(tau[k], tau[k + 1] - 1);
        return tau;
    }

    /// <summary>
    /// Analytic-DPM's optimal trajectory (Bao et al., ICLR 2022, §4): the τ with τ_1 = 1, τ_K = N minimising
    /// Σ_{k=2..K} J(τ_{k−1}, τ_k) by dynamic programming, C[k, n] = min_{s&lt;n} C[k−1, s] + J(s, n), C[1, 1] = 0,
    /// backtracked from C[K, N]. See <see cref="StepCost"/> for J and its DDIM (η = 0) convention.
    /// </summary>
    /// <param name="schedule">The forward process.</param>
    /// <param name="gamma">Γ_n for n = 1..N at index n (length N + 1).</param>
    /// <param name="count">K, 1 ≤ K ≤ N.</param>
    /// <param name="eta">η of the process the trajectory is for: 1 for DDPM, [0, 1] for DDIM.</param>
    /// <param name="dataInUnitBox">Clamp Ĉ_t to [0, 1] as the sampler does for data in [−1, 1]^d.</param>
    /// <returns>τ_1 &lt; … &lt; τ_K, ascending.</returns>
    /// <remarks>
    /// <para>O(K N²) additions and O(N²) evaluations of J, O(K N) memory: each J(·, n) column is computed once and
    /// reused for every k, so no N × N table of J is held.</para>
    /// <para>A Monte Carlo Γ_n &gt; 1 is a poor estimate (the truth is ≤ 1), and there Ĉ_n clamps to 0 and J costs
    /// nothing, so a plain DP would cross the whole noisy end in one free jump — with a trained network that jump
    /// costs hundreds of bits/dim. As the official code does (its dp_seg), from the first n with Γ_n &gt; 1 the
    /// last 2(N − n + 1) timesteps get K₂ evenly spaced steps and the DP runs on the prefix 1..N₁ with the other K₁:
    /// K₁ = ⌈(1 − 0.8·bad/N) K⌉, with K₁ ≤ N₁, K₂ ≤ bad and K₂ ≥ 1. With every Γ_n ≤ 1 (an exact or well-estimated
    /// table) this is the plain DP over 1..N.</para>
    /// </remarks>
    public static int[] Optimal(NoiseSchedule schedule, double[] gamma, int count, double eta, bool dataInUnitBox = false)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(gamma);
        var steps = schedule.Steps;
        CheckCount(steps, count);
        CheckGamma(gamma, steps);
        if (!(eta is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(eta), eta, "η must be in [0, 1].");
        if (count == 1)
            return [steps];
        if (count == steps)
            return Enumerable.Range(1, steps).ToArray();

        var (prefixCount, prefixEnd, suffixCount) = Split(gamma, steps, count);
        int[] prefix = prefixCount == 1 ? [1] : SolveDp(schedule, gamma, prefixEnd, prefixCount, eta, dataInUnitBox);
        // The suffix: K₂ steps spaced (N − N₁)/K₂ apart, ending at N (the official rounding, half to even).
        var stride = (steps - prefixEnd) / (double)suffixCount;
        var tau = new int[count];
        prefix.CopyTo(tau, 0);
        for (var k = 0; k < suffixCount; k++)
            tau[count - 1 - k] = (int)Math.Round(steps - stride * k, MidpointRounding.ToEven);
        return tau;
    }

    /// <summary>K₁, N₁ and K₂ of the official dp_seg split; (K, N, 0) when every Γ_n ≤ 1 for n &lt; N.</summary>
    static (int PrefixCount, int PrefixEnd, int SuffixCount) Split(double[] gamma, int steps, int count)
    {
        var firstBad = 1;
        while (firstBad < steps && gamma[firstBad] <= 1)
            firstBad++;
        if (firstBad == steps)
            return (count, steps, 0);
        // The official code asserts bad ≤ N; capping at N − 1 keeps τ_1 = 1 when Γ exceeds 1 early (then it is even).
        var bad = Math.Min(2 * (steps - firstBad + 1), steps - 1);
        var prefixEnd = steps - bad;
        var prefixCount = (int)Math.Ceiling((1 - 0.8 * bad / steps) * count);
        var suffixCount = count - prefixCount;
        if (prefixCount > prefixEnd)
            (prefixCount, suffixCount) = (prefixEnd, count - prefixEnd);
        if (suffixCount > bad)
            (prefixCount, suffixCount) = (count - bad, bad);
        if (suffixCount == 0)
            (prefixCount, suffixCount) = (count - 1, 1);
        return (prefixCount, prefixEnd, suffixCount);
    }

    /// <summary>The DP over 1 = τ_1 &lt; … &lt; τ_K = <paramref name="last"/>, K ≥ 2.</summary>
    static int[] SolveDp(NoiseSchedule schedule, double[] gamma, int last, int count, double eta, bool dataInUnitBox)
    {
        if (count == last)
            return Enumerable.Range(1, last).ToArray();

        // C[k][n]: least cost of a path 1 = τ_1 < … < τ_k = n; +∞ where unreachable (n < k).
        var best = new double[count + 1][];
        var from = new int[count + 1][];
        for (var k = 1; k <= count; k++)
        {
            best[k] = new double[last + 1];
            Array.Fill(best[k], double.PositiveInfinity);
            from[k] = new int[last + 1];
        }
        best[1][1] = 0;

        var column = new double[last + 1]; // J(s, n) for s = 0..n−1, the current column
        var candidate = new double[last + 1]; // C[k−1, s] + J(s, n)
        for (var n = 2; n <= last; n++)
        {
            column[0] = double.PositiveInfinity; // s = 0 is τ_0, never a DP node
            for (var s = 1; s < n; s++)
                column[s] = StepCost(schedule, gamma, s, n, eta, dataInUnitBox);
            // C[K, n] is only read at n = last (τ_K = last), so the last row is filled for that column alone.
            var lastK = Math.Min(n < last ? count - 1 : count, n);
            for (var k = 2; k <= lastK; k++)
            {
                // s ranges over k−1..n−1: a path with k−1 nodes cannot end before k−1.
                var s0 = k - 1;
                var length = n - s0;
                var sums = candidate.AsSpan(s0, length);
                TensorPrimitives.Add(best[k - 1].AsSpan(s0, length), column.AsSpan(s0, length), sums);
                var arg = TensorPrimitives.IndexOfMin(sums);
                best[k][n] = sums[arg];
                from[k][n] = s0 + arg;
            }
        }

        var tau = new int[count];
        tau[count - 1] = last;
        for (var k = count; k > 1; k--)
            tau[k - 2] = from[k][tau[k - 1]];
        return tau;
    }

    /// <summary>
    /// J(s, t), the DP's step cost. For η &gt; 0: J = log(σ̂²_{s|t} / λ²_{s|t}) with σ̂² from
    /// <see cref="AnalyticVariance.Optimal"/> — the step's share of the negative ELBO under the optimal variance
    /// (Analytic-DPM §4), up to terms that do not depend on τ. For DDPM (η = 1) this is
    /// log(1 − β_{t|s} Γ_t/β̄_t) + log(β̄_t/ᾱ_t) − log(β̄_s/ᾱ_s) while Ĉ_t is not clamped, and the last two terms telescope
    /// along any path from 1 to N, so the argmin is exactly the official code's cost log(1 − β_{t|s} Γ_t/β̄_t).
    /// For η = 0 (deterministic DDIM) λ² = 0, the ELBO is undefined and the papers define no trajectory cost; the
    /// official code's DP never looks at η either (it always minimises the DDPM cost), so η = 0 uses the η = 1 cost.
    /// Analytic-DDIM's published results sample on the even trajectory; the optimal one is for likelihood.
    /// </summary>
    public static double StepCost(NoiseSchedule schedule, double[] gamma, int s, int t, double eta, bool dataInUnitBox = false)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(gamma);
        if (s < 1 || t <= s || t > schedule.Steps)
            throw new ArgumentOutOfRangeException(nameof(t), $"Need 1 ≤ s < t ≤ N; got s = {s}, t = {t}.");
        var effectiveEta = eta > 0 ? eta : 1;
        var lambda2 = AnalyticVariance.Lambda2(schedule, s, t, effectiveEta);
        var sigma2 = AnalyticVariance.Optimal(schedule, s, t, effectiveEta, gamma[t], dataInUnitBox);
        // σ̂² ≥ λ² always (Ĉ ≥ 0), so J ≥ 0 and finite for s ≥ 1 where λ² > 0.
        return Math.Log(sigma2 / lambda2);
    }

    /// <summary>Σ_{k=2..K} J(τ_{k−1}, τ_k), the quantity <see cref="Optimal"/> minimises (0 for K = 1).</summary>
    public static double Cost(NoiseSchedule schedule, double[] gamma, ReadOnlySpan<int> tau, double eta, bool dataInUnitBox = false)
    {
        var total = 0.0;
        for (var k = 1; k < tau.Length; k++)
            total += StepCost(schedule, gamma, tau[k - 1], tau[k], eta, dataInUnitBox);
        return total;
    }

    /// <summary>Throws unless τ is strictly increasing within 1..N and non-empty.</summary>
    public static void Validate(ReadOnlySpan<int> tau, int steps)
    {
        if (tau.IsEmpty)
            throw new ArgumentException("The trajectory is empty; it needs at least one timestep.", nameof(tau));
        if (tau[0] < 1 || tau[^1] > steps)
            throw new ArgumentException($"Trajectory timesteps must lie in 1..{steps}; got {tau[0]}..{tau[^1]}.", nameof(tau));
        for (var k = 1; k < tau.Length; k++)
        {
            if (tau[k] <= tau[k - 1])
                throw new ArgumentException($"The trajectory must be strictly increasing; τ_{k} = {tau[k - 1]} ≥ τ_{k + 1} = {tau[k]}.", nameof(tau));
        }
    }

    static void CheckCount(int steps, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if (count < 1 || count > steps)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"K must be in 1..N = 1..{steps}.");
    }

    static void CheckGamma(double[] gamma, int steps)
    {
        if (gamma.Length != steps + 1)
            throw new ArgumentException($"Γ needs N + 1 = {steps + 1} entries (index n = 1..N), got {gamma.Length}.", nameof(gamma));
        // A NaN would win every IndexOfMin (TensorPrimitives returns the first NaN), silently corrupting the path.
        for (var n = 1; n <= steps; n++)
        {
            if (!double.IsFinite(gamma[n]))
                throw new ArgumentException($"Γ_{n} = {gamma[n]} is not finite.", nameof(gamma));
        }
    }
}
