using Service.Index;

namespace Service.Tests.Index;

public sealed class PseudoInverseTests
{
    [Fact]
    public void Inverts_an_invertible_2x2()
    {
        // [[4, 7], [2, 6]]⁻¹ = 1/(4·6 − 7·2) · [[6, −7], [−2, 4]]
        var pinv = new float[4];

        var rank = PseudoInverse.Compute([4, 7, 2, 6], 2, 2, 1e-6, pinv);

        Assert.Equal(2, rank);
        AssertClose([0.6f, -0.7f, -0.2f, 0.4f], pinv, 1e-6f);
    }

    [Fact]
    public void Rank_deficient_2x2_gives_the_Moore_Penrose_inverse()
    {
        // A = [[1, 2], [2, 4]] = v vᵀ with v = (1, 2): σ₁ = ‖v‖² = 5, σ₂ = 0, so A⁺ = v vᵀ / ‖v‖⁴ = A / 25.
        var pinv = new float[4];

        var rank = PseudoInverse.Compute([1, 2, 2, 4], 2, 2, 1e-6, pinv);

        Assert.Equal(1, rank);
        AssertClose([1 / 25f, 2 / 25f, 2 / 25f, 4 / 25f], pinv, 1e-6f);
    }

    [Fact]
    public void The_relative_cutoff_decides_which_singular_values_count()
    {
        var pinv = new float[4];

        Assert.Equal(1, PseudoInverse.Compute([1, 0, 0, 1e-8f], 2, 2, 1e-6, pinv));
        AssertClose([1, 0, 0, 0], pinv, 1e-6f);

        Assert.Equal(2, PseudoInverse.Compute([1, 0, 0, 1e-8f], 2, 2, 0, pinv));
        Assert.Equal(1e8f, pinv[3], 1e8f * 1e-5f);
    }

    [Theory]
    [InlineData(2, 3)]
    [InlineData(3, 2)]
    public void Wide_and_tall_matrices_satisfy_the_Penrose_conditions(int rows, int columns)
    {
        float[] a = rows == 2 ? [1, 0, 2, 0, 1, 1] : [1, 0, 0, 1, 2, 1];
        var pinv = new float[rows * columns];

        Assert.Equal(2, PseudoInverse.Compute(a, rows, columns, 1e-6, pinv));

        AssertClose(a, Multiply(Multiply(a, pinv, rows, columns, rows), a, rows, rows, columns), 1e-5f); // A A⁺ A = A
        AssertClose(pinv, Multiply(Multiply(pinv, a, columns, rows, columns), pinv, columns, columns, rows), 1e-5f); // A⁺ A A⁺ = A⁺
    }

    [Fact]
    public void The_zero_matrix_has_rank_zero_and_a_zero_inverse()
    {
        var pinv = new float[6];
        pinv.AsSpan().Fill(float.NaN);

        Assert.Equal(0, PseudoInverse.Compute(new float[6], 2, 3, 1e-6, pinv));
        Assert.All(pinv, value => Assert.Equal(0f, value));
    }

    [Fact]
    public void The_default_cutoff_is_max_dimension_times_the_storage_epsilon()
    {
        Assert.Equal(100 * Math.ScaleB(1, -23), PseudoInverse.DefaultRelativeCutoff(100, 20, ScoreType.Float32));
        Assert.Equal(30 * Math.ScaleB(1, -10), PseudoInverse.DefaultRelativeCutoff(10, 30, ScoreType.Float16));
    }

    /// <summary>[m × k] by [k × n], row-major.</summary>
    static float[] Multiply(float[] left, float[] right, int m, int k, int n)
    {
        var product = new float[m * n];
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
                for (var l = 0; l < k; l++)
                    product[i * n + j] += left[i * k + l] * right[l * n + j];
        return product;
    }

    static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }
}
