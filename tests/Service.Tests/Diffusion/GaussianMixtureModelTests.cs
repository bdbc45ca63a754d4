using Service.Training.Diffusion;
using Service.Models.Diffusion;

namespace Service.Tests.Diffusion;

public sealed class GaussianMixtureModelTests
{
    static readonly int[] Checkpoints = [1, 10, 50, 100, 200, 300, 500, 700, 1000];

    [Fact]
    public void Monte_Carlo_gamma_agrees_with_the_mean_posterior_covariance()
    {
        // Any data: E Cov[x₀ | x_n] = (β̄_n/ᾱ_n)(1 − Γ_n), i.e. Γ_n = 1 − (ᾱ_n/β̄_n) E tr Cov/d. The left side comes
        // from GammaEstimator (ε̂ only), the right from the exact posterior covariance; they share no code.
        var model = GaussianMixtureModel.Gmm2D();
        const int rows = 2000;
        var gamma = GammaEstimator.Estimate(model, model.Sample(new Random(1), rows), new Random(2));

        var random = new Random(3);
        var d = model.Dimension;
        foreach (var n in Checkpoints)
        {
            var x = model.Sample(random, rows);
            ForwardProcess.Sample(model.Schedule, n, x, random, x);
            var epsilon = new float[x.Length];
            var covariance = new float[x.Length];
            model.Predict(x, n, epsilon, []);
            model.PosteriorCovarianceDiagonal(x, n, covariance);

            var ratio = model.Schedule.AlphaBar(n) / model.Schedule.BetaBar(n);
            var implied = new double[rows]; // 1 − (ᾱ/β̄) tr Cov/d per row
            var squaredNorm = new double[rows]; // ‖ε*‖²/d per row, for the SE of the estimator's Γ
            for (var r = 0; r < rows; r++)
            {
                double trace = 0, norm = 0;
                for (var i = 0; i < d; i++)
                {
                    trace += covariance[r * d + i];
                    norm += epsilon[r * d + i] * (double)epsilon[r * d + i];
                }
                implied[r] = 1 - ratio * trace / d;
                squaredNorm[r] = norm / d;
            }
            var (fromCovariance, covarianceError) = DiffusionStats.MeanWithError(implied);
            var (_, gammaError) = DiffusionStats.MeanWithError(squaredNorm);

            DiffusionStats.WithinError(fromCovariance, gamma[n], Math.Sqrt(covarianceError * covarianceError + gammaError * gammaError), what: $"Γ_{n}");
            // 0 ≤ Γ ≤ 1: exact for the covariance side (Cov ≥ 0 row by row), within MC error for the estimate.
            Assert.InRange(fromCovariance, 0, 1);
            Assert.InRange(gamma[n], 0, 1 + 5 * gammaError);
        }
    }

    [Fact]
    public void Sn_oracle_has_unit_mean_per_dimension()
    {
        // h(x) = E[ε² | x] = ε*² + (ᾱ/β̄) Cov[x₀|x], so E_x h(x) = E ε² = 1 in every dimension, at every n.
        var model = GaussianMixtureModel.Gmm2D(CovarianceHead.Sn);
        const int rows = 4000;
        var random = new Random(4);
        var d = model.Dimension;
        foreach (var n in Checkpoints)
        {
            var x = model.Sample(random, rows);
            ForwardProcess.Sample(model.Schedule, n, x, random, x);
            var epsilon = new float[x.Length];
            var h = new float[x.Length];
            model.Predict(x, n, epsilon, h);

            for (var i = 0; i < d; i++)
            {
                var column = Enumerable.Range(0, rows).Select(r => (double)h[r * d + i]).ToArray();
                var (mean, error) = DiffusionStats.MeanWithError(column);
                DiffusionStats.WithinError(1, mean, error, what: $"E h_{i} at n = {n}");
            }
        }
    }

    [Fact]
    public void Npr_oracle_is_the_sn_oracle_minus_epsilon_squared()
    {
        var sn = GaussianMixtureModel.Gmm2D(CovarianceHead.Sn);
        var npr = sn.WithHead(CovarianceHead.Npr);
        var random = new Random(6);
        var x = sn.Sample(random, 50);
        ForwardProcess.Sample(sn.Schedule, 120, x, random, x);
        var epsilon = new float[x.Length];
        var h = new float[x.Length];
        var g = new float[x.Length];
        sn.Predict(x, 120, epsilon, h);
        npr.Predict(x, 120, new float[x.Length], g);

        for (var j = 0; j < x.Length; j++)
        {
            Assert.Equal(h[j] - epsilon[j] * epsilon[j], g[j], 1e-4);
            Assert.True(g[j] >= 0);
        }
    }

    [Fact]
    public void One_component_mixture_is_the_isotropic_gaussian()
    {
        var schedule = NoiseSchedule.Linear(1000);
        var mixture = new GaussianMixtureModel(schedule, [1.0], [0.2, -0.1, 0.4], [0.3], CovarianceHead.Sn);
        var gaussian = new GaussianModel(schedule, [0.2, -0.1, 0.4], [0.3, 0.3, 0.3], CovarianceHead.Sn);
        var twins = new GaussianMixtureModel(schedule, [0.3, 0.7], [0.2, -0.1, 0.4, 0.2, -0.1, 0.4], [0.3, 0.3], CovarianceHead.Sn);
        float[] x = [0.5f, 0.1f, -0.7f, -1.5f, 2f, 0f]; // [B = 2, d = 3]

        foreach (var n in new[] { 1, 37, 500, 1000 })
        {
            var expected = Run(gaussian, x, n);
            foreach (var model in new IReferenceModel[] { mixture, twins })
            {
                var actual = Run(model, x, n);
                for (var j = 0; j < expected.Length; j++)
                    Assert.Equal(expected[j], actual[j], 1e-5);
            }
        }

        static float[] Run(IReferenceModel model, float[] x, int n)
        {
            var epsilon = new float[x.Length];
            var head = new float[x.Length];
            var covariance = new float[x.Length];
            model.Predict(x, n, epsilon, head);
            model.PosteriorCovarianceDiagonal(x, n, covariance);
            return [.. epsilon, .. head, .. covariance];
        }
    }

    [Fact]
    public void Weights_survive_points_far_from_every_component()
    {
        // At n = 1, v = ᾱ s² + β̄ ≈ 0.0026: a point 5 units away has log-densities near −5000, which exp() alone
        // turns into 0/0.
        var model = GaussianMixtureModel.Gmm2D(CovarianceHead.Sn);
        float[] x = [5f, 5f, -30f, 0.1f, 0.7f, 0f]; // [B = 3, d = 2]; the last is a component mean
        var epsilon = new float[6];
        var h = new float[6];
        var covariance = new float[6];
        model.Predict(x, 1, epsilon, h);
        model.PosteriorCovarianceDiagonal(x, 1, covariance);

        Assert.All(epsilon, v => Assert.True(float.IsFinite(v)));
        Assert.All(h, v => Assert.True(float.IsFinite(v)));
        Assert.All(covariance, v => Assert.True(float.IsFinite(v) && v >= 0));
        // At the component mean (0.7, 0): √ᾱ m ≈ m, so ε* ≈ √β̄ (1 − √ᾱ) m / v, tiny.
        Assert.InRange(Math.Abs(epsilon[4]), 0, 0.01);
        Assert.InRange(Math.Abs(epsilon[5]), 0, 1e-6);
    }

    [Fact]
    public void Preset_samples_lie_on_the_circle_inside_the_unit_box()
    {
        var model = (GaussianMixtureModel)ReferenceModels.Create("gmm-2d");
        var x = model.Sample(new Random(8), 20_000);

        Assert.Equal(2, model.Dimension);
        Assert.Equal(8, model.Components);
        Assert.True(model.DataInUnitBox);
        Assert.All(x, v => Assert.InRange(v, -1f, 1f));
        var radii = Enumerable.Range(0, 20_000).Select(r => Math.Sqrt(x[2 * r] * x[2 * r] + x[2 * r + 1] * x[2 * r + 1])).ToArray();
        // E|m + s z| ≈ r + s²/(2r) in 2-D: the tangential spread pushes points outwards.
        DiffusionStats.WithinError(0.7 + 0.05 * 0.05 / 1.4, radii.Average(), 0.05 / Math.Sqrt(20_000), what: "mean radius");
        // Equal weights: the mean is the circle's centre, each coordinate's variance is 0.7²/2 + 0.05².
        var (mean0, variance0) = DiffusionStats.Column(x, 2, 0);
        DiffusionStats.WithinError(0, mean0, Math.Sqrt(0.2475 / 20_000), what: "mean x");
        DiffusionStats.Relative(0.2475, variance0, 0.03, "variance x");
    }
}
