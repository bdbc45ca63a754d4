using Service.Models.Diffusion;
using Service.Models.Diffusion.Trajectories;
using Service.Models.Diffusion.Variances;

namespace Service.Tests.Diffusion;

/// <summary>The variance and trajectory rules behind their registries, and the rule added through the extension point alone.</summary>
public sealed class VarianceRegistryTests
{
    static readonly NoiseSchedule Linear = NoiseSchedule.Linear(1000);

    [Fact]
    public void Every_rule_is_found_by_its_own_unique_name()
    {
        Assert.Equal(ReverseVariances.All.Count, ReverseVariances.Names.Distinct().Count());
        foreach (var rule in ReverseVariances.All)
            Assert.Same(rule, ReverseVariances.Find(rule.Name));
        foreach (var rule in TrajectoryRules.All)
            Assert.Same(rule, TrajectoryRules.Find(rule.Name));
        Assert.Equal(["even", "quadratic", "optimal"], TrajectoryRules.Names);
        Assert.Contains("fixed-small, fixed-large, ddim, analytic, npr, sn, fixed-small-clipped",
            Assert.Throws<ArgumentException>(() => ReverseVariances.Find("learned")).Message);
    }

    [Fact]
    public void Fixed_small_clipped_is_fixed_small_except_the_last_step_which_takes_the_second_steps_variance()
    {
        int[] tau = [1, 112, 223, 334, 445];
        for (var k = 2; k <= tau.Length; k++)
        {
            var step = new VarianceStep(Linear, tau, k, 1, null, false);
            Assert.Equal(AnalyticVariance.FixedSmall(Linear, tau[k - 2], tau[k - 1]), FixedSmallClipped.Instance.Scalar(step));
            Assert.Equal(FixedSmall.Instance.Scalar(step), FixedSmallClipped.Instance.Scalar(step));
        }
        var last = new VarianceStep(Linear, tau, 1, 1, null, false);
        Assert.Equal(0, FixedSmall.Instance.Scalar(last)); // β̃ of τ₁ → 0 is 0: β̄_0 = 0
        Assert.Equal(AnalyticVariance.FixedSmall(Linear, 1, 112), FixedSmallClipped.Instance.Scalar(last));
        Assert.True(FixedSmallClipped.Instance.Scalar(last) > 0);
    }

    [Fact]
    public void The_sampler_runs_fixed_small_clipped_and_draws_fixed_smalls_samples_since_its_last_step_is_noiseless()
    {
        var model = new GaussianModel(Linear, [0.3, -0.2], [0.5, 0.1], CovarianceHead.None);
        var tau = Trajectory.Even(1000, 8);
        var start = new float[2 * 16];
        GaussianNoise.Fill(new Random(3), start);

        var clipped = DiffusionSampler.Sample(model, new DiffusionSamplerSettings(tau, DiffusionProcess.Ddpm, FixedSmallClipped.Instance), start, new Random(5));
        var plain = DiffusionSampler.Sample(model, new DiffusionSamplerSettings(tau, DiffusionProcess.Ddpm, FixedSmall.Instance), start, new Random(5));

        Assert.Equal(plain, clipped);
    }
}
