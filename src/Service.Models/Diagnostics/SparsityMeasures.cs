namespace Service.Models.Diagnostics;

/// <summary>
/// Measures of how sparse a vector is, each scaled so that larger is sparser ("How to measure sparsity", the seed's post;
/// Hurley &amp; Rickard, "Comparing Measures of Sparsity", IEEE Trans. Inf. Theory 55(10), 2009). Signs are ignored:
/// every measure reads c_i = |x_i|.
/// </summary>
/// <remarks>
/// <code>
/// x       // the vector [n]; c = |x|, and c_(1) ≤ … ≤ c_(n) its entries sorted
/// n       // its length
/// ‖c‖_p   // (Σ c_i^p)^(1/p)
/// p_i     // c_i / ‖c‖₁, the share of the mass in entry i
/// H(p)    // −Σ p_i log p_i, the entropy of those shares (0 log 0 = 0)
/// ε       // the zero threshold of the ε-count
/// </code>
/// Which of the six axioms each measure satisfies is measured, not assumed: tests/Service.Tests/Diagnostics.
/// </remarks>
public static class SparsityMeasures
{
    /// <summary>Zero fraction at ε: #{i : c_i ≤ ε} / n, the share of entries that count as zero (the ℓ0^ε count, normalised).</summary>
    public static double ZeroFraction(ReadOnlySpan<double> x, double epsilon)
    {
        Check(x);
        var zeros = 0;
        foreach (var value in x)
        {
            if (Math.Abs(value) <= epsilon)
                zeros++;
        }
        return (double)zeros / x.Length;
    }

    /// <summary>
    /// The l1/l2 ratio, normalised: 1 − ‖c‖₁ / (√n ‖c‖₂). ‖c‖₁/(√n‖c‖₂) lies in [1/√n, 1] (1 for a flat vector, 1/√n for
    /// one non-zero entry), so this lies in [0, 1 − 1/√n]. 0 for the zero vector.
    /// </summary>
    public static double L1L2(ReadOnlySpan<double> x)
    {
        Check(x);
        var (l1, l2) = Norms(x);
        return l2 == 0 ? 0 : 1 - l1 / (Math.Sqrt(x.Length) * l2);
    }

    /// <summary>
    /// Hoyer (2004): (√n − ‖c‖₁/‖c‖₂) / (√n − 1), the same ratio rescaled to exactly [0, 1]: 0 for a flat vector, 1 for
    /// one non-zero entry. 0 for n = 1 and for the zero vector.
    /// </summary>
    public static double Hoyer(ReadOnlySpan<double> x)
    {
        Check(x);
        var (l1, l2) = Norms(x);
        var root = Math.Sqrt(x.Length);
        return l2 == 0 || x.Length == 1 ? 0 : (root - l1 / l2) / (root - 1);
    }

    /// <summary>
    /// Entropy-based: 1 − H(p) / log n with p = c / ‖c‖₁; 0 for a flat vector, 1 for one non-zero entry. 0 for n = 1
    /// and for the zero vector.
    /// </summary>
    public static double Entropy(ReadOnlySpan<double> x)
    {
        Check(x);
        var (l1, _) = Norms(x);
        if (l1 == 0 || x.Length == 1)
            return 0;
        var h = 0.0;
        foreach (var value in x)
        {
            var p = Math.Abs(value) / l1;
            if (p > 0)
                h -= p * Math.Log(p);
        }
        return 1 - h / Math.Log(x.Length);
    }

    /// <summary>
    /// Gini index (Hurley &amp; Rickard, Eq. 17): 1 − 2 Σ_k (c_(k) / ‖c‖₁) (n − k + ½) / n over the ascending sort;
    /// 0 for a flat vector, 1 − 1/n for one non-zero entry. 0 for the zero vector.
    /// </summary>
    public static double Gini(ReadOnlySpan<double> x)
    {
        Check(x);
        var (l1, _) = Norms(x);
        if (l1 == 0)
            return 0;
        var sorted = new double[x.Length];
        for (var i = 0; i < x.Length; i++)
            sorted[i] = Math.Abs(x[i]);
        Array.Sort(sorted);
        var n = x.Length;
        var sum = 0.0;
        for (var k = 1; k <= n; k++)
            sum += sorted[k - 1] / l1 * (n - k + 0.5) / n;
        return 1 - 2 * sum;
    }

    static (double L1, double L2) Norms(ReadOnlySpan<double> x)
    {
        double l1 = 0, squares = 0;
        foreach (var value in x)
        {
            l1 += Math.Abs(value);
            squares += value * value;
        }
        return (l1, Math.Sqrt(squares));
    }

    static void Check(ReadOnlySpan<double> x)
    {
        if (x.IsEmpty)
            throw new ArgumentException("A sparsity measure needs a vector of at least one entry.", nameof(x));
    }
}
