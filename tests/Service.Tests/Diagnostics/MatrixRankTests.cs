using Service.Models.Diagnostics;

namespace Service.Tests.Diagnostics;

public sealed class MatrixRankTests
{
    [Fact]
    public void A_lower_triangular_matrix_with_a_positive_diagonal_has_full_rank()
    {
        // Causal attention spread evenly over the past: row i is 1/(i + 1) on keys 0..i, so det = Π 1/(i + 1) = 1/n! > 0.
        const int n = 12;
        var a = new float[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
                a[i * n + j] = 1f / (i + 1);
        }
        var report = MatrixRank.Measure(a, n);
        Assert.Equal(n, report.Rank);
        // The same rows made bidirectional (every row uniform over all keys) collapse to rank 1.
        Assert.Equal(1, MatrixRank.Measure(Enumerable.Repeat(1f / n, n * n).ToArray(), n).Rank);
    }

    [Fact]
    public void Identical_rows_have_rank_one_and_the_identity_is_full_with_effective_rank_n()
    {
        const int n = 5;
        var uniform = Enumerable.Repeat(1f / n, n * n).ToArray();
        var identity = new float[n * n];
        for (var i = 0; i < n; i++)
            identity[i * n + i] = 1;

        var flat = MatrixRank.Measure(uniform, n);
        var full = MatrixRank.Measure(identity, n);

        Assert.Equal(1, flat.Rank);
        Assert.Equal(1, flat.EffectiveRank, 9);
        Assert.Equal(1, flat.StableRank, 9);
        Assert.Equal(1, flat.SingularValues[0], 6); // ‖(1/n) 1 1ᵀ‖₂ = 1
        Assert.Equal(n, full.Rank);
        Assert.Equal(n, full.EffectiveRank, 9);
        Assert.Equal(n, full.StableRank, 9);
    }

    [Fact]
    public void A_rank_one_matrix_rounded_to_float32_still_has_rank_one()
    {
        // Attention rows from float32 arithmetic: double's ε would count the rounding noise as extra rank.
        const int n = 16;
        var random = new Random(3);
        var u = Enumerable.Range(0, n).Select(_ => random.NextDouble() + 0.1).ToArray();
        var v = Enumerable.Range(0, n).Select(_ => random.NextDouble()).ToArray();
        var a = new float[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
                a[i * n + j] = (float)(u[i] * v[j] / v.Sum());
        }
        Assert.Equal(1, MatrixRank.Measure(a, n).Rank);
    }

    [Fact]
    public void A_diagonal_matrix_has_the_singular_values_on_its_diagonal()
    {
        float[] d = [3, 0, 0, 0, 2, 0, 0, 0, 0];
        var report = MatrixRank.Measure(d, 3);
        Assert.Equal(2, report.Rank);
        Assert.Equal([3, 2, 0], report.SingularValues, new Close());
        Assert.Equal(Math.Exp(-(0.6 * Math.Log(0.6) + 0.4 * Math.Log(0.4))), report.EffectiveRank, 9);
        Assert.Equal(13 / 9.0, report.StableRank, 9);
    }

    sealed class Close : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-9;
        public int GetHashCode(double obj) => 0;
    }
}
