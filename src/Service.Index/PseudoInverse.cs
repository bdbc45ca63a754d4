using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace Service.Index;

/// <summary>
/// Moore–Penrose pseudo-inverse A⁺ = V Σ⁺ Uᵀ of a small dense matrix A = U Σ Vᵀ, with σᵢ⁺ = 1/σᵢ where σᵢ &gt; rcond·σ_max
/// and 0 otherwise, computed in double precision (MathNet.Numerics).
/// </summary>
/// <remarks>
/// <para>Notation:</para>
/// <code>
/// a      // A [m × n], row-major
/// pinv   // A⁺ [n × m], row-major
/// rcond  // relative cutoff: singular values σᵢ ≤ rcond·σ_max count as zero
/// rank   // #{σᵢ &gt; rcond·σ_max}, the numerical rank
/// </code>
/// <para>A thin QR first (A = Q T, Q [m × n] with orthonormal columns, T [n × n], for m ≥ n; Aᵀ otherwise, since
/// (Aᵀ)⁺ = (A⁺)ᵀ) puts the SVD on the small square factor: A⁺ = T⁺ Qᵀ. CUR's intersection R[:, anchors] is k_q × k_i with
/// k_q up to thousands, where a plain SVD would also build a k_q × k_q factor it does not need.</para>
/// <para>Cutoff (<see cref="DefaultRelativeCutoff"/>): rcond = u·√min(m, n), with u = ε/2 the unit roundoff of the precision
/// the entries were stored at (<see cref="ScoreTypes.Epsilon"/>). Storing rounds each entry by a relative u at most, so the
/// rounding E has ‖E‖₂ ≤ ‖E‖_F ≤ u‖A‖_F ≤ u√min(m, n)·σ_max, and by Weyl's inequality it moves every singular value by at
/// most that bound, so those it creates from zero lie under it. Singular values below it are rounding, not signal:
/// keeping them (as the reference code does, through np.linalg.pinv's legacy rcond = 1e-15) multiplies the rounding by up
/// to 1/u in ŝ = c A⁺ R, and an exactly low-rank R is then no longer reproduced exactly. Cutting more than that discards
/// signal: LAPACK's max(m, n)·ε rule, meant for the error of an SVD computed in the stored precision (this one runs in
/// double), reaches 0.49 at float16 and k_i = 500 and left the approximation only R's top few directions.</para>
/// </remarks>
public static class PseudoInverse
{
    /// <summary>rcond = u·√min(m, n) with u = ε(storedAs)/2: the storage rounding's bound on ‖E‖₂ relative to σ_max.</summary>
    public static double DefaultRelativeCutoff(int rows, int columns, ScoreType storedAs) =>
        storedAs.Epsilon() / 2 * Math.Sqrt(Math.Min(rows, columns));

    /// <param name="a">A [rows × columns], row-major.</param>
    /// <param name="relativeCutoff">rcond ≥ 0.</param>
    /// <param name="pinv">A⁺ [columns × rows], row-major.</param>
    /// <returns>The numerical rank.</returns>
    public static int Compute(ReadOnlySpan<float> a, int rows, int columns, double relativeCutoff, Span<float> pinv)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(relativeCutoff);
        if (a.Length != rows * columns || pinv.Length != rows * columns)
            throw new ArgumentException($"A [{rows} × {columns}] and A⁺ need {rows * columns} values each, got {a.Length} and {pinv.Length}.");

        // MathNet stores column-major: element (i, j) of the tall orientation goes to [j·p + i].
        var tall = rows >= columns;
        var (p, q) = tall ? (rows, columns) : (columns, rows);
        var storage = new double[p * q];
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < columns; j++)
                storage[tall ? j * p + i : i * p + j] = a[i * columns + j];
        var matrix = Matrix<double>.Build.Dense(p, q, storage); // [p × q], p ≥ q

        var qr = matrix.QR(QRMethod.Thin);                     // Q [p × q], T [q × q]
        var svd = qr.R.Svd(computeVectors: true);              // T = U Σ Vᵀ
        var sigmaMax = svd.S.AbsoluteMaximum();
        var threshold = relativeCutoff * sigmaMax;
        var vSigmaPlus = svd.VT.Transpose();                   // V Σ⁺ [q × q]
        var rank = 0;
        for (var i = 0; i < q; i++)
        {
            var sigma = svd.S[i];
            var keep = sigmaMax > 0 && sigma > threshold;
            if (keep)
                rank++;
            vSigmaPlus.SetColumn(i, vSigmaPlus.Column(i) * (keep ? 1 / sigma : 0));
        }
        var inverse = vSigmaPlus * svd.U.TransposeThisAndMultiply(qr.Q.Transpose()); // (V Σ⁺)(Uᵀ Qᵀ) [q × p]

        for (var i = 0; i < columns; i++)
            for (var j = 0; j < rows; j++)
                pinv[i * rows + j] = (float)(tall ? inverse[i, j] : inverse[j, i]);
        return rank;
    }
}
