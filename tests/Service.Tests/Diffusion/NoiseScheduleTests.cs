using Service.Models.Diffusion;

namespace Service.Tests.Diffusion;

public sealed class NoiseScheduleTests
{
    [Fact]
    public void Linear_alpha_bar_N_matches_the_product_of_DDPMs_betas()
    {
        var schedule = NoiseSchedule.Linear(1000);

        // ᾱ_N = Π_{n=1..1000} (1 − β_n), β_n = 1e-4 + (0.02 − 1e-4)(n − 1)/999, computed independently here.
        var product = 1.0;
        for (var n = 1; n <= 1000; n++)
            product *= 1 - (1e-4 + (0.02 - 1e-4) * (n - 1) / 999);

        DiffusionStats.Relative(product, schedule.AlphaBar(1000), 1e-12, "ᾱ_N");
        // The value quoted for DDPM's CIFAR-10 schedule (alphas_cumprod[-1]).
        DiffusionStats.Relative(4.0358e-5, schedule.AlphaBar(1000), 1e-4, "ᾱ_N");
        // log ᾱ_N ≈ −Σβ − Σβ²/2 with Σβ = 1000 (1e-4 + 0.02)/2 = 10.05: a closed-form sanity bound.
        Assert.InRange(Math.Log(schedule.AlphaBar(1000)), -10.05 - 0.2, -10.05);
        Assert.Equal(1.0, schedule.AlphaBar(0));
        DiffusionStats.Relative(1e-4, schedule.BetaBar(1), 1e-9, "β̄_1");
    }

    [Fact]
    public void Cosine_betas_are_capped_at_0_999()
    {
        var schedule = NoiseSchedule.Cosine(1000);

        for (var n = 1; n <= 1000; n++)
            Assert.InRange(schedule.BetaTS(n - 1, n), 0, 0.999 + 1e-12);
        // f(1) = cos²(π/2) ≈ 0 would make β_N = 1; the cap is what keeps ᾱ_N > 0.
        Assert.Equal(0.999, schedule.BetaTS(999, 1000), 1e-9);
        Assert.True(schedule.AlphaBar(1000) > 0);
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("cosine")]
    public void Beta_tilde_never_exceeds_beta(string name)
    {
        var schedule = NoiseSchedule.Create(name, 1000);

        for (var s = 0; s < 1000; s += 37)
        {
            for (var t = s + 1; t <= 1000; t += 41)
            {
                Assert.True(schedule.BetaTildeST(s, t) <= schedule.BetaTS(s, t) * (1 + 1e-12), $"s = {s}, t = {t}");
                Assert.True(schedule.BetaTildeST(s, t) >= 0);
            }
        }
        Assert.Equal(0, schedule.BetaTildeST(0, 10)); // β̄_0 = 0: the step to x_0 has no posterior variance
    }

    [Fact]
    public void The_scaled_linear_schedule_refuses_too_few_steps_instead_of_a_negative_alpha_bar()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => NoiseSchedule.Linear(8));
        Assert.True(NoiseSchedule.Linear(50).AlphaBar(50) > 0);
    }
}
