namespace Service.Tests.Diffusion;

/// <summary>Sample moments for the Monte Carlo checks; every comparison uses a standard error, never a magic epsilon.</summary>
static class DiffusionStats
{
    /// <summary>Mean and unbiased variance of column <paramref name="column"/> of a row-major [rows, d] array.</summary>
    public static (double Mean, double Variance) Column(ReadOnlySpan<float> values, int d, int column)
    {
        var rows = values.Length / d;
        var mean = 0.0;
        for (var r = 0; r < rows; r++)
            mean += values[r * d + column];
        mean /= rows;
        var squares = 0.0;
        for (var r = 0; r < rows; r++)
        {
            var diff = values[r * d + column] - mean;
            squares += diff * diff;
        }
        return (mean, squares / (rows - 1));
    }

    /// <summary>Mean and standard error of the mean of a sample.</summary>
    public static (double Mean, double StandardError) MeanWithError(IReadOnlyList<double> values)
    {
        var mean = values.Average();
        var variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        return (mean, Math.Sqrt(variance / values.Count));
    }

    /// <summary>|actual − expected| ≤ tolerance·|expected|.</summary>
    public static void Relative(double expected, double actual, double tolerance, string? what = null)
    {
        var error = Math.Abs(actual - expected);
        Assert.True(error <= tolerance * Math.Abs(expected),
            $"{what ?? "value"}: expected {expected:R}, got {actual:R} (relative error {error / Math.Abs(expected):E2} > {tolerance:E1}).");
    }

    /// <summary>|actual − expected| ≤ z · standard error.</summary>
    public static void WithinError(double expected, double actual, double standardError, double z = 5, string? what = null)
    {
        Assert.True(Math.Abs(actual - expected) <= z * standardError,
            $"{what ?? "value"}: expected {expected:R}, got {actual:R}; |difference| {Math.Abs(actual - expected):E3} > {z}·SE = {z * standardError:E3}.");
    }
}
