using Service.Training.Diffusion;
using Service.Models.Diffusion.Variances;
using Service.Models.Diffusion.Trajectories;
using Service.Models.Diffusion;

namespace Service.Tests.Diffusion;

public sealed class DiffusionSamplerTests
{
    const int Count = 20_000;
    static readonly NoiseSchedule Linear = NoiseSchedule.Linear(1000);

    /// <summary>
    /// x_{τ_K} from the exact q(x_N) = N(√ᾱ_N μ, ᾱ_N s² + β̄_N): with the exact ε* and a variance that is exact per
    /// dimension, every noisy step reproduces q(x_s | x_t), so only the last (noiseless) step departs from q(x₀):
    /// it outputs E[x₀ | x_{τ₁}], whose variance is s² − s² β̄_1/v_1 = s² · ᾱ_1 s²/v_1.
    /// </summary>
    static void AssertMatchesData(GaussianModel model, float[] output, string what)
    {
        var d = model.Dimension;
        for (var i = 0; i < d; i++)
        {
            var (mean, variance) = DiffusionStats.Column(output, d, i);
            var s2 = model.Std[i] * model.Std[i];
            var expected = s2 * Linear.AlphaBar(1) * s2 / (Linear.AlphaBar(1) * s2 + Linear.BetaBar(1));
            DiffusionStats.WithinError(model.Mean[i], mean, Math.Sqrt(s2 / Count), what: $"{what}: mean_{i}");
            DiffusionStats.WithinError(expected, variance, expected * Math.Sqrt(2.0 / (Count - 1)), what: $"{what}: variance_{i}");
        }
    }

    static float[] ExactStart(IReferenceModel model, int seed)
    {
        var random = new Random(seed);
        var x = model.Sample(random, Count);
        ForwardProcess.Sample(model.Schedule, model.Schedule.Steps, x, random, x);
        return x;
    }

    /// <summary>
    /// Plain DDIM (η = 0) on the full trajectory discretises the probability-flow ODE, which carries the exact q(x_N) to
    /// the data when ε is exact; so a sample quality that falls as K grows on a trained network is the network's doing.
    /// </summary>
    [Fact]
    public void Deterministic_ddim_on_every_timestep_with_the_exact_model_reproduces_gaussian_data()
    {
        var model = new GaussianModel(Linear, [0.3, -0.2, 0.0, 0.5], [0.3, 0.3, 0.3, 0.3]);
        var settings = new DiffusionSamplerSettings(Trajectory.Even(1000, 1000), DiffusionProcess.Ddim, Ddim.Instance);

        var output = DiffusionSampler.Sample(model, settings, ExactStart(model, 3), new Random(4));

        AssertMatchesData(model, output, "DDIM η=0, K=1000");
    }

    [Theory]
    [InlineData(DiffusionProcess.Ddpm, 1.0)]
    [InlineData(DiffusionProcess.Ddim, 0.0)]
    [InlineData(DiffusionProcess.Ddim, 0.5)]
    public void Analytic_variance_with_the_exact_model_reproduces_isotropic_gaussian_data(DiffusionProcess process, double eta)
    {
        var model = new GaussianModel(Linear, [0.3, -0.2, 0.0, 0.5], [0.3, 0.3, 0.3, 0.3]);
        var settings = new DiffusionSamplerSettings(Trajectory.Even(1000, 5), process, Analytic.Instance, eta, model.ExactGammaTable());

        var output = DiffusionSampler.Sample(model, settings, ExactStart(model, 1), new Random(2));

        AssertMatchesData(model, output, $"{process} η={eta}");
    }

    [Theory]
    [InlineData(CovarianceHead.Npr, DiffusionProcess.Ddpm)]
    [InlineData(CovarianceHead.Sn, DiffusionProcess.Ddpm)]
    [InlineData(CovarianceHead.Sn, DiffusionProcess.Ddim)]
    public void Oracle_heads_reproduce_anisotropic_gaussian_data(CovarianceHead head, DiffusionProcess process)
    {
        // With unequal s_i one isotropic σ² cannot be right in every dimension; the per-dimension heads can.
        var model = new GaussianModel(Linear, [0.3, -0.2, 0.0, 0.5], [0.05, 0.1, 0.3, 0.5], head);
        ReverseVariance variance = head == CovarianceHead.Npr ? Npr.Instance : Sn.Instance;
        var settings = new DiffusionSamplerSettings(Trajectory.Even(1000, 5), process, variance);

        var output = DiffusionSampler.Sample(model, settings, ExactStart(model, 3), new Random(4));

        AssertMatchesData(model, output, $"{head}-{process}");
    }

    [Fact]
    public void Fixed_small_is_under_dispersed_and_fixed_large_over_dispersed_at_K_5()
    {
        var model = new GaussianModel(Linear, [0.3, -0.2, 0.0, 0.5], [0.3, 0.3, 0.3, 0.3]);
        var start = ExactStart(model, 5);
        var tau = Trajectory.Even(1000, 5);

        var small = DiffusionSampler.Sample(model, new DiffusionSamplerSettings(tau, DiffusionProcess.Ddpm, FixedSmall.Instance), start, new Random(6));
        var large = DiffusionSampler.Sample(model, new DiffusionSamplerSettings(tau, DiffusionProcess.Ddpm, FixedLarge.Instance), start, new Random(6));

        for (var i = 0; i < 4; i++)
        {
            // Linear-Gaussian recursions give ≈ 0.08 s² and ≈ 5.5 s² for these settings.
            Assert.InRange(DiffusionStats.Column(small, 4, i).Variance, 0, 0.5 * 0.09);
            Assert.InRange(DiffusionStats.Column(large, 4, i).Variance, 2 * 0.09, double.PositiveInfinity);
            // The means are right regardless: E[μ(x_t)] = E[x_s] whatever σ² is.
            DiffusionStats.WithinError(model.Mean[i], DiffusionStats.Column(small, 4, i).Mean, Math.Sqrt(0.09 / Count), what: "fixed-small mean");
        }
    }

    [Fact]
    public void Same_seed_same_output_and_another_seed_differs()
    {
        var model = GaussianMixtureModel.Gmm2D(CovarianceHead.Sn);
        var start = new float[64 * 2];
        GaussianNoise.Fill(new Random(9), start);
        var settings = new DiffusionSamplerSettings(Trajectory.Quadratic(1000, 10), DiffusionProcess.Ddpm, Sn.Instance, ClipPixels: 2);

        var a = DiffusionSampler.Sample(model, settings, start, new Random(10));
        var b = DiffusionSampler.Sample(model, settings, start, new Random(10));
        var c = DiffusionSampler.Sample(model, settings, start, new Random(11));

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(a, v => Assert.InRange(v, -1f, 1f)); // x̂₀ is clamped for data in the unit box
    }

    [Fact]
    public void Callback_sees_every_step_the_cap_and_a_noiseless_last_step()
    {
        var model = GaussianModel.Gauss64();
        var start = new float[8 * 64];
        GaussianNoise.Fill(new Random(12), start);
        var tau = Trajectory.Even(1000, 6);
        var settings = new DiffusionSamplerSettings(tau, DiffusionProcess.Ddpm, FixedLarge.Instance, ClipPixels: 1);
        var steps = new List<DiffusionStep>();

        DiffusionSampler.Sample(model, settings, start, new Random(13), (step, x0) =>
        {
            Assert.Equal(start.Length, x0.Length);
            steps.Add(step);
            return true;
        });

        Assert.Equal([6, 5, 4, 3, 2, 1], steps.Select(s => s.K));
        Assert.Equal(tau.Reverse(), steps.Select(s => s.T));
        Assert.Equal([.. tau[..^1].Reverse(), 0], steps.Select(s => s.S));
        Assert.All(steps, s => Assert.Equal(6, s.Count));
        Assert.Equal(Linear.BetaTS(tau[3], tau[4]), steps[1].MeanVariance, 1e-12); // uncapped
        Assert.Equal(AnalyticVariance.ClipCapOnePixel, steps[4].MeanVariance, 1e-15); // k = 2 produces x_{τ₁}: capped
        Assert.Equal(0, steps[5].MeanVariance);
    }

    [Fact]
    public void Returning_false_from_the_callback_cancels()
    {
        var model = GaussianModel.Gauss64();
        var settings = new DiffusionSamplerSettings(Trajectory.Even(1000, 10), DiffusionProcess.Ddim, Ddim.Instance);
        var calls = 0;

        Assert.Throws<OperationCanceledException>(() =>
            DiffusionSampler.Sample(model, settings, new float[64], new Random(1), (_, _) => ++calls < 3));
        Assert.Equal(3, calls);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            DiffusionSampler.Sample(model, settings, new float[64], new Random(1), cancellationToken: cancelled.Token));
    }

    [Fact]
    public void Inconsistent_settings_are_refused_with_a_reason()
    {
        var plain = GaussianModel.Gauss64();
        var x = new float[64];
        var tau = Trajectory.Even(1000, 4);

        var noGamma = Assert.Throws<ArgumentException>(() =>
            DiffusionSampler.Sample(plain, new DiffusionSamplerSettings(tau, DiffusionProcess.Ddpm, Analytic.Instance), x, new Random(1)));
        Assert.Contains("Γ", noGamma.Message);
        var noHead = Assert.Throws<ArgumentException>(() =>
            DiffusionSampler.Sample(plain, new DiffusionSamplerSettings(tau, DiffusionProcess.Ddpm, Npr.Instance), x, new Random(1)));
        Assert.Contains("NPR head", noHead.Message);
        var wrongHead = Assert.Throws<ArgumentException>(() =>
            DiffusionSampler.Sample(plain.WithHead(CovarianceHead.Npr), new DiffusionSamplerSettings(tau, DiffusionProcess.Ddpm, Sn.Instance), x, new Random(1)));
        Assert.Contains("SN head", wrongHead.Message);
        Assert.Throws<ArgumentException>(() =>
            DiffusionSampler.Sample(plain, new DiffusionSamplerSettings([5, 3], DiffusionProcess.Ddpm, FixedSmall.Instance), x, new Random(1)));
        Assert.Throws<ArgumentException>(() =>
            DiffusionSampler.Sample(plain, new DiffusionSamplerSettings(tau, DiffusionProcess.Ddim, Ddim.Instance, Eta: 1.5), x, new Random(1)));
        Assert.Throws<ArgumentException>(() =>
            DiffusionSampler.Sample(plain, new DiffusionSamplerSettings(tau, DiffusionProcess.Ddpm, FixedSmall.Instance), new float[63], new Random(1)));
        Assert.Equal(FixedLarge.Instance, ReverseVariances.Find("fixed-large"));
        Assert.Equal(DiffusionProcess.Ddim, DiffusionSamplerSettings.ParseProcess("ddim"));
        Assert.Throws<ArgumentException>(() => ReverseVariances.Find("learned"));
    }

    [Fact]
    public void Single_step_trajectory_outputs_the_posterior_mean_of_x0()
    {
        var model = GaussianModel.Gauss64();
        var x = new float[64];
        GaussianNoise.Fill(new Random(14), x);

        var output = DiffusionSampler.Sample(model, new DiffusionSamplerSettings([1000], DiffusionProcess.Ddpm, FixedLarge.Instance), x, new Random(1));

        // x̂₀ = (x_N − √β̄_N ε*)/√ᾱ_N = E[x₀ | x_N] = μ + √ᾱ_N s² (x_N − √ᾱ_N μ)/v_N.
        var alphaBar = Linear.AlphaBar(1000);
        for (var i = 0; i < 64; i++)
        {
            var s2 = model.Std[i] * model.Std[i];
            var expected = model.Mean[i] + Math.Sqrt(alphaBar) * s2 * (x[i] - Math.Sqrt(alphaBar) * model.Mean[i]) / (alphaBar * s2 + 1 - alphaBar);
            Assert.Equal(expected, output[i], 1e-4); // float: x̂₀ divides by √ᾱ_N ≈ 0.0064
        }
    }
}
