using Service.Models.Diffusion;
using MathNet.Numerics.LinearAlgebra;

namespace Service.Training.Diffusion.Evaluation;

/// <summary>Mean μ [D] and unbiased covariance Σ [D, D] of M feature vectors.</summary>
public sealed record FeatureMoments(Vector<double> Mean, Matrix<double> Covariance, int Count);

/// <summary>
/// The Fréchet distance between Gaussians fitted to two feature sets (FID, Heusel et al. 2017):
/// d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2}).
/// </summary>
/// <remarks>
/// Tr (Σ₁ Σ₂)^{1/2} is computed as Σ_i √λ_i(Σ₁^{1/2} Σ₂ Σ₁^{1/2}): that matrix is symmetric positive semi-definite
/// and similar to Σ₁ Σ₂, so a symmetric eigendecomposition replaces the general matrix square root; eigenvalues
/// below 0 (round-off) count as 0.
/// </remarks>
public static class FrechetDistance
{
    /// <param name="features">[M, D] row-major, M ≥ 2.</param>
    public static FeatureMoments Moments(ReadOnlySpan<float> features, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (features.Length % dimension != 0)
            throw new ArgumentException($"features must be [M, {dimension}]; got {features.Length} values.", nameof(features));
        var count = features.Length / dimension;
        if (count < 2)
            throw new ArgumentException("At least two feature vectors are needed for a covariance.", nameof(features));
        var rows = Matrix<double>.Build.Dense(count, dimension); // [M, D]
        for (var m = 0; m < count; m++)
            for (var j = 0; j < dimension; j++)
                rows[m, j] = features[m * dimension + j];
        var mean = rows.ColumnSums() / count; // μ [D]
        for (var m = 0; m < count; m++)
            rows.SetRow(m, rows.Row(m) - mean);
        var covariance = rows.TransposeThisAndMultiply(rows) / (count - 1); // Σ [D, D]
        return new FeatureMoments(mean, covariance, count);
    }

    /// <summary>d²(N(μ₁, Σ₁), N(μ₂, Σ₂)).</summary>
    public static double Compute(FeatureMoments first, FeatureMoments second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Mean.Count != second.Mean.Count)
            throw new ArgumentException($"Feature dimensions differ: {first.Mean.Count} and {second.Mean.Count}.");
        var meanTerm = (first.Mean - second.Mean).DotProduct(first.Mean - second.Mean);
        var root = SymmetricSquareRoot(first.Covariance);
        var product = root * second.Covariance * root;
        product = (product + product.Transpose()) / 2; // symmetric up to round-off
        var traceRoot = product.Evd(Symmetricity.Symmetric).EigenValues.Sum(l => Math.Sqrt(Math.Max(l.Real, 0)));
        return Math.Max(meanTerm + first.Covariance.Trace() + second.Covariance.Trace() - 2 * traceRoot, 0);
    }

    static Matrix<double> SymmetricSquareRoot(Matrix<double> matrix)
    {
        var evd = matrix.Evd(Symmetricity.Symmetric);
        var roots = Vector<double>.Build.Dense(evd.EigenValues.Count, i => Math.Sqrt(Math.Max(evd.EigenValues[i].Real, 0)));
        return evd.EigenVectors * Matrix<double>.Build.DiagonalOfDiagonalVector(roots) * evd.EigenVectors.Transpose();
    }
}
