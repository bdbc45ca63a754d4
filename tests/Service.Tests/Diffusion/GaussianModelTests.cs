using Service.Models.Diffusion;

namespace Service.Tests.Diffusion;

public sealed class GaussianModelTests
{
    [Fact]
    public void Monte_Carlo_gamma_matches_the_exact_gamma_within_its_error()
    {
        var model = GaussianModel.Gauss64();
        const int rows = 400;
        var data = model.Sample(new Random(1), rows);

        var gamma = GammaEstimator.Estimate(model, data, new Random(2), batchSize: 128);

        Assert.Equal(1001, gamma.Length);
        var d = model.Dimension;
        for (var n = 1; n <= 1000; n++)
        {
            // ‖ε*‖²/d is a weighted χ²: Var = (2/d²) Σ_i (β̄/v_i)², so the mean of M rows has SE √(Var/M).
            var exact = model.ExactGamma(n);
            var sumSquares = 0.0;
            for (var i = 0; i < d; i++)
            {
                var ratio = model.Schedule.BetaBar(n) / (model.Schedule.AlphaBar(n) * model.Std[i] * model.Std[i] + model.Schedule.BetaBar(n));
                sumSquares += ratio * ratio;
            }
            var standardError = Math.Sqrt(2 * sumSquares / (d * d) / rows);
            DiffusionStats.WithinError(exact, gamma[n], standardError, z: 5.5, what: $"Γ_{n}");
            Assert.InRange(exact, 0, 1);
        }
        Assert.Equal(0, gamma[0]);
    }

    [Fact]
    public void Monte_Carlo_gamma_standard_error_matches_the_closed_form_and_leaves_gamma_unchanged()
    {
        var model = GaussianModel.Gauss64();
        const int rows = 400;
        var data = model.Sample(new Random(1), rows);
        var standardError = new double[1001];

        var plain = GammaEstimator.Estimate(model, data, new Random(2), batchSize: 128);
        var gamma = GammaEstimator.Estimate(model, data, new Random(2), batchSize: 128, standardError: standardError);

        Assert.Equal(plain, gamma);
        var d = model.Dimension;
        for (var n = 1; n <= 1000; n++)
        {
            // The same closed form as above: SE = √((2/d²) Σ_i (β̄/v_i)² / M). A sample sd of 400 near-normal rows is
            // within about 3.5 % of the truth (one sd), so 25 % is far outside noise.
            var sumSquares = 0.0;
            for (var i = 0; i < d; i++)
            {
                var ratio = model.Schedule.BetaBar(n) / (model.Schedule.AlphaBar(n) * model.Std[i] * model.Std[i] + model.Schedule.BetaBar(n));
                sumSquares += ratio * ratio;
            }
            var exact = Math.Sqrt(2 * sumSquares / (d * d) / rows);
            Assert.InRange(standardError[n] / exact, 0.75, 1.25);
        }
        Assert.Throws<ArgumentException>(() => GammaEstimator.Estimate(model, data, new Random(2), standardError: new double[10]));
    }

    [Fact]
    public void A_range_of_steps_is_the_whole_estimates_prefix_and_leaves_the_other_steps_zero()
    {
        var model = GaussianModel.Gauss64();
        var data = model.Sample(new Random(1), 100);

        var whole = GammaEstimator.Estimate(model, data, new Random(2), batchSize: 50);
        var prefix = GammaEstimator.Estimate(model, data, new Random(2), batchSize: 50, firstStep: 1, lastStep: 40);
        var suffix = GammaEstimator.Estimate(model, data, new Random(3), batchSize: 50, firstStep: 41);

        // The same noise source draws the same ε for steps 1..40, so the prefix is exact.
        Assert.Equal(whole[..41], prefix[..41]);
        Assert.All(prefix[41..], value => Assert.Equal(0, value));
        Assert.All(suffix[..41], value => Assert.Equal(0, value));
        Assert.All(suffix[41..], value => Assert.InRange(value, 1e-6, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => GammaEstimator.Estimate(model, data, new Random(2), firstStep: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => GammaEstimator.Estimate(model, data, new Random(2), firstStep: 50, lastStep: 49));
    }

    [Fact]
    public void Epsilon_is_the_posterior_mean_of_the_noise()
    {
        // E[ε | x_n] computed by brute-force regression: draw (x₀, ε) pairs, bucket by x_n in 1-D, compare.
        // In 1-D the posterior is exact: E[ε | x] = √β̄ (x − √ᾱ μ)/v, so the regression slope of ε on x is √β̄/v.
        var schedule = NoiseSchedule.Linear(1000);
        var model = new GaussianModel(schedule, [0.3], [0.4]);
        const int n = 200, count = 200_000;
        var random = new Random(5);
        var x0 = model.Sample(random, count);
        var noise = new float[count];
        GaussianNoise.Fill(random, noise);
        var sqrtAlphaBar = Math.Sqrt(schedule.AlphaBar(n));
        var sqrtBetaBar = Math.Sqrt(schedule.BetaBar(n));
        double sxx = 0, sxe = 0, mx = 0, me = 0;
        var xn = new double[count];
        for (var j = 0; j < count; j++)
        {
            xn[j] = sqrtAlphaBar * x0[j] + sqrtBetaBar * noise[j];
            mx += xn[j];
            me += noise[j];
        }
        mx /= count;
        me /= count;
        for (var j = 0; j < count; j++)
        {
            sxx += (xn[j] - mx) * (xn[j] - mx);
            sxe += (xn[j] - mx) * (noise[j] - me);
        }
        var slope = sxe / sxx;

        var predicted = new float[2];
        model.Predict([0f, 1f], n, predicted, []);
        var v = schedule.AlphaBar(n) * 0.16 + schedule.BetaBar(n);
        DiffusionStats.Relative(sqrtBetaBar / v, predicted[1] - predicted[0], 1e-6, "∂ε*/∂x");
        // The slope's SE is √(Var[ε|x] / Σ(x − x̄)²).
        var residualVariance = schedule.AlphaBar(n) * 0.16 / v;
        DiffusionStats.WithinError(predicted[1] - predicted[0], slope, Math.Sqrt(residualVariance / sxx), what: "regression slope");
        DiffusionStats.Relative(-sqrtBetaBar * sqrtAlphaBar * 0.3 / v, predicted[0], 1e-5, "ε*(0)");
    }

    [Fact]
    public void Heads_are_the_exact_conditional_moments()
    {
        var schedule = NoiseSchedule.Linear(1000);
        var sn = new GaussianModel(schedule, [0.1, -0.3], [0.2, 0.05], CovarianceHead.Sn);
        var npr = (GaussianModel)sn.WithHead(CovarianceHead.Npr);
        float[] x = [0.4f, -0.2f, -1.1f, 0.9f]; // [B = 2, d = 2]
        const int n = 150;

        var epsilon = new float[4];
        var h = new float[4];
        var g = new float[4];
        var covariance = new float[4];
        sn.Predict(x, n, epsilon, h);
        npr.Predict(x, n, new float[4], g);
        sn.PosteriorCovarianceDiagonal(x, n, covariance);

        var ratio = schedule.AlphaBar(n) / schedule.BetaBar(n);
        for (var j = 0; j < 4; j++)
        {
            DiffusionStats.Relative(ratio * covariance[j], g[j], 1e-5, "g = (ᾱ/β̄) Cov");
            DiffusionStats.Relative(epsilon[j] * epsilon[j] + ratio * covariance[j], h[j], 1e-5, "h = ε*² + (ᾱ/β̄) Cov");
            var s2 = j % 2 == 0 ? 0.04 : 0.0025;
            DiffusionStats.Relative(s2 * schedule.BetaBar(n) / (schedule.AlphaBar(n) * s2 + schedule.BetaBar(n)), covariance[j], 1e-5, "Cov = s² β̄/v");
        }
    }

    [Fact]
    public void Preset_is_fixed_and_within_its_stated_ranges()
    {
        var a = (GaussianModel)ReferenceModels.Create("gauss-64");
        var b = GaussianModel.Gauss64();

        Assert.Equal(64, a.Dimension);
        Assert.Equal("gauss-64", a.Name);
        Assert.Equal(a.Mean.ToArray(), b.Mean.ToArray());
        Assert.Equal(a.Std.ToArray(), b.Std.ToArray());
        Assert.All(a.Mean.ToArray(), m => Assert.InRange(m, -0.5, 0.5));
        Assert.All(a.Std.ToArray(), s => Assert.InRange(s, 0.05, 0.3));
        Assert.Equal(1000, a.Schedule.Steps);
        Assert.False(a.DataInUnitBox);
        Assert.Throws<ArgumentException>(() => ReferenceModels.Create("gauss-65"));
    }
}
