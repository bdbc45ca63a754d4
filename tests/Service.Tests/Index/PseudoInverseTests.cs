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
    public void The_default_cutoff_is_the_unit_roundoff_of_storage_times_the_root_of_the_smaller_dimension()
    {
        Assert.Equal(Math.Sqrt(20) * Math.ScaleB(1, -24), PseudoInverse.DefaultRelativeCutoff(100, 20, ScoreType.Float32), 1e-18);
        Assert.Equal(Math.Sqrt(10) * Math.ScaleB(1, -11), PseudoInverse.DefaultRelativeCutoff(10, 30, ScoreType.Float16), 1e-15);
    }

    [Fact]
    public void The_float16_cutoff_keeps_every_signal_direction_of_a_wide_intersection_and_drops_the_rounding()
    {
        // A = Σ_k σ_k e_k v_kᵀ [10 × 400] with orthonormal DCT-II rows v_k and σ = 1 … 0.05, rounded to float16 as an index
        // stores it: the rounding's singular values are ≤ u‖A‖_F ≈ 6e-4, the signal's ≥ 0.05. The old rule
        // max(m, n)·ε = 0.39 kept only the first two directions.
        const int rows = 10, columns = 400;
        double[] sigma = [1, 0.5, 0.2, 0.1, 0.05];
        var a = new float[rows * columns];
        for (var k = 0; k < sigma.Length; k++)
            for (var j = 0; j < columns; j++)
                a[k * columns + j] = (float)(Half)(sigma[k] * Math.Sqrt(2.0 / columns) * Math.Cos(Math.PI * (k + 1) * (j + 0.5) / columns));
        var pinv = new float[rows * columns];

        var rank = PseudoInverse.Compute(a, rows, columns, PseudoInverse.DefaultRelativeCutoff(rows, columns, ScoreType.Float16), pinv);

        Assert.Equal(sigma.Length, rank);
        // A⁺A is then the projector onto the five directions: (A⁺A)·v_1 = v_1 up to the rounding.
        var v1 = Enumerable.Range(0, columns).Select(j => (float)(Math.Sqrt(2.0 / columns) * Math.Cos(Math.PI * (j + 0.5) / columns))).ToArray();
        var projected = Multiply(Multiply(pinv, a, columns, rows, columns), v1, columns, columns, 1);
        AssertClose(v1, projected, 2e-3f);
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
