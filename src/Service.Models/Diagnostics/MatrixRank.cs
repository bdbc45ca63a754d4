using MathNet.Numerics.LinearAlgebra;

namespace Service.Models.Diagnostics;

/// <summary>The rank of one attention matrix, three ways; its singular values.</summary>
/// <param name="Rank">Numerical rank: singular values above σ_max · n · ε of float32, the entries' precision (NumPy's matrix_rank default for float32 input).</param>
/// <param name="EffectiveRank">exp(H(σ/‖σ‖₁)), Roy &amp; Vetterli (2007): between 1 and n, n only for equal singular values.</param>
/// <param name="StableRank">‖A‖_F² / ‖A‖₂² = Σσ² / σ_max².</param>
/// <param name="SingularValues">σ_1 ≥ σ_2 ≥ …, the first few.</param>
public sealed record RankReport(int Rank, double EffectiveRank, double StableRank, double[] SingularValues);

/// <summary>
/// Ranks of attention matrices ("Why are LLMs decoder-only?"): a causal attention matrix is lower triangular with a
/// positive diagonal (softmax never gives exactly 0 to the key a query may see, itself included), so its determinant,
/// the product of that diagonal, is positive and its rank is full; a bidirectional one can lose rank.
/// </summary>
/// <remarks>
/// <code>
/// A      // [n, n] one head's attention probabilities, rows summing to 1
/// σ      // A's singular values, descending
/// H(p)   // −Σ p_i log p_i
/// </code>
/// </remarks>
public static class MatrixRank
{
    /// <summary>2⁻²³, the spacing of float32 numbers at 1.</summary>
    public const double Float32Epsilon = 1.1920928955078125e-7;

    /// <param name="matrix">Row-major [n, n].</param>
    /// <param name="top">How many leading singular values to return.</param>
    public static RankReport Measure(float[] matrix, int n, int top = 8)
    {
        if (n < 1 || matrix.Length != n * n)
            throw new ArgumentException($"Expected an {n} × {n} matrix; got {matrix.Length} values.", nameof(matrix));
        var a = Matrix<double>.Build.Dense(n, n, (i, j) => matrix[i * n + j]);
        var sigma = a.Svd(computeVectors: false).S.ToArray(); // descending
        var max = sigma[0];
        var tolerance = max * n * Float32Epsilon; // the entries carry float32 rounding, far above double's ε
        var rank = sigma.Count(s => s > tolerance);
        var l1 = sigma.Sum();
        var entropy = l1 == 0 ? 0 : -sigma.Where(s => s > 0).Sum(s => s / l1 * Math.Log(s / l1));
        var stable = max == 0 ? 0 : sigma.Sum(s => s * s) / (max * max);
        return new RankReport(rank, l1 == 0 ? 0 : Math.Exp(entropy), stable, [.. sigma.Take(top)]);
    }
}
