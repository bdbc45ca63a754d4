using MathNet.Numerics.LinearAlgebra;
using Service.Models.Diffusion;
using Service.Training.Diffusion.Evaluation;

namespace Service.Tests.Diffusion;

public sealed class EvaluationMetricsTests
{
    static readonly NoiseSchedule Linear = NoiseSchedule.Linear(1000);

    static FeatureMoments Gaussian(double[] mean, double[,] covariance) =>
        new(Vector<double>.Build.DenseOfArray(mean), Matrix<double>.Build.DenseOfArray(covariance), 1000);

    [Fact]
    public void Frechet_distance_of_diagonal_gaussians_is_the_closed_form()
    {
        // Commuting covariances: d² = Σ (μ₁ − μ₂)² + Σ (σ₁ − σ₂)².
        var a = Gaussian([0, 1, 2], new double[,] { { 4, 0, 0 }, { 0, 1, 0 }, { 0, 0, 0.25 } });
        var b = Gaussian([1, 1, 0], new double[,] { { 1, 0, 0 }, { 0, 9, 0 }, { 0, 0, 0.25 } });
        var expected = (1 + 0 + 4) + (Math.Pow(2 - 1, 2) + Math.Pow(1 - 3, 2) + 0);
        Assert.Equal(expected, FrechetDistance.Compute(a, b), 1e-9);
    }

    [Fact]
    public void Frechet_distance_handles_non_commuting_covariances()
    {
        var a = Gaussian([0, 0], new double[,] { { 2, 1 }, { 1, 2 } });
        var b = Gaussian([0, 0], new double[,] { { 1, 0 }, { 0, 3 } });
        // Tr (Σ₁Σ₂)^{1/2} for 2×2: √(λ₁) + √(λ₂) = √(tr + 2√det) with tr, det of Σ₁Σ₂ (both eigenvalues positive).
        var product = Matrix<double>.Build.DenseOfArray(new double[,] { { 2, 1 }, { 1, 2 } }) * Matrix<double>.Build.DenseOfArray(new double[,] { { 1, 0 }, { 0, 3 } });
        var traceRoot = Math.Sqrt(product.Trace() + 2 * Math.Sqrt(product.Determinant()));
        Assert.Equal(4 + 4 - 2 * traceRoot, FrechetDistance.Compute(a, b), 1e-9);
        Assert.Equal(FrechetDistance.Compute(a, b), FrechetDistance.Compute(b, a), 1e-9);
        Assert.Equal(0, FrechetDistance.Compute(a, a), 1e-9);
    }

    [Fact]
    public void Moments_are_the_mean_and_unbiased_covariance()
    {
        float[] features = [1, 2, 3, 6, 5, 10]; // [3, 2]
        var moments = FrechetDistance.Moments(features, 2);
        Assert.Equal([3, 6], moments.Mean.ToArray());
        // Deviations (−2, −4), (0, 0), (2, 4): Σ = [[8, 16], [16, 32]] / 2.
        Assert.Equal(4, moments.Covariance[0, 0], 1e-12);
        Assert.Equal(8, moments.Covariance[0, 1], 1e-12);
        Assert.Equal(16, moments.Covariance[1, 1], 1e-12);
        Assert.Throws<ArgumentException>(() => FrechetDistance.Moments([1, 2], 2));
    }

    [Fact]
    public void Prior_term_is_the_kl_to_the_standard_normal()
    {
        float[] x0 = [0.5f, -1f];
        double alphaBar = Linear.AlphaBar(1000), betaBar = Linear.BetaBar(1000);
        var expected = x0.Sum(v => 0.5 * (alphaBar * v * v + betaBar - 1 - Math.Log(betaBar)));
        Assert.Equal(expected, VariationalBound.PriorTerm(Linear, x0), 1e-12);
        Assert.True(expected > 0);
    }

    [Fact]
    public void Transition_term_is_zero_for_the_true_posterior_and_the_gaussian_kl_otherwise()
    {
        float[] x0 = [0.2f, -0.7f, 1f];
        float[] xt = [0.1f, 0.4f, -0.3f];
        int s = 100, t = 300;
        var betaTilde = Linear.BetaTildeST(s, t);
        Assert.Equal(0, VariationalBound.TransitionTerm(Linear, s, t, x0, xt, x0, betaTilde), 1e-12);

        // Equal means, σ² = 2β̃: per dimension ½(log 2 + ½ − 1).
        Assert.Equal(3 * 0.5 * (Math.Log(2) - 0.5), VariationalBound.TransitionTerm(Linear, s, t, x0, xt, x0, 2 * betaTilde), 1e-12);

        // A mean error δ in x̂₀ moves μ̂ by (√ᾱ_s β_{t|s}/β̄_t) δ: KL adds its square over 2σ².
        float[] x0Hat = [0.2f, -0.7f, 0.5f];
        var gap = Math.Sqrt(Linear.AlphaBar(s)) * Linear.BetaTS(s, t) / Linear.BetaBar(t) * 0.5;
        Assert.Equal(gap * gap / (2 * betaTilde), VariationalBound.TransitionTerm(Linear, s, t, x0, xt, x0Hat, betaTilde), 1e-9);

        // The per-dimension overload agrees with the scalar one for a constant σ².
        var perDim = Enumerable.Repeat((float)(3 * betaTilde), 3).ToArray();
        Assert.Equal(
            VariationalBound.TransitionTerm(Linear, s, t, x0, xt, x0Hat, (double)perDim[0]),
            VariationalBound.TransitionTerm(Linear, s, t, x0, xt, x0Hat, perDim), 1e-9);
    }

    [Theory]
    [InlineData(0.0, 1e-4)]
    [InlineData(0.37, 0.01)]
    [InlineData(-0.99, 0.3)]
    [InlineData(1.2, 0.05)]
    public void Decoder_probabilities_over_the_256_levels_sum_to_one(double mean, double variance)
    {
        var total = 0.0;
        for (var level = 0; level < 256; level++)
            total += Math.Exp(-VariationalBound.DecoderTerm([(float)(2.0 * level / 255 - 1)], [(float)mean], variance));
        Assert.Equal(1, total, 1e-6);
    }

    [Fact]
    public void Decoder_term_is_the_bin_mass_of_a_narrow_gaussian()
    {
        // σ ≪ bin: the whole mass lies in the bin of the mean.
        Assert.Equal(0, VariationalBound.DecoderTerm([(float)(2.0 * 128 / 255 - 1)], [(float)(2.0 * 128 / 255 - 1)], 1e-10), 1e-9);
        // Mean on a bin edge: half the mass.
        var level = (float)(2.0 * 100 / 255 - 1);
        Assert.Equal(Math.Log(2), VariationalBound.DecoderTerm([level], [level + 1f / 255], 1e-10), 1e-4);
    }

    [Fact]
    public void Quantize_snaps_to_the_256_level_grid()
    {
        Assert.Equal(-1f, VariationalBound.Quantize(-1.3f));
        Assert.Equal(1f, VariationalBound.Quantize(1f));
        Assert.Equal((float)(2.0 * 51 / 255 - 1), VariationalBound.Quantize((float)(2 * 0.2 - 1) + 1e-4f), 6);
        Assert.Equal(3.0 / Math.Log(2) / 3, VariationalBound.BitsPerDimension(3, 3), 12);
    }
}
