using Service.Models.Diffusion;

namespace Service.Tests.Diffusion;

public sealed class GaussianNoiseTests
{
    [Fact]
    public void Draws_are_standard_normal_and_reproducible()
    {
        var a = new float[100_001]; // odd: the last pair is cut in half
        var b = new float[a.Length];
        GaussianNoise.Fill(new Random(7), a);
        GaussianNoise.Fill(new Random(7), b);

        Assert.Equal(a, b);
        var (mean, variance) = DiffusionStats.Column(a, 1, 0);
        DiffusionStats.WithinError(0, mean, Math.Sqrt(1.0 / a.Length), what: "mean");
        DiffusionStats.WithinError(1, variance, Math.Sqrt(2.0 / a.Length), what: "variance");
        var fourth = a.Average(v => Math.Pow(v, 4));
        DiffusionStats.WithinError(3, fourth, Math.Sqrt(96.0 / a.Length), what: "E z⁴"); // Var z⁴ = 105 − 9
        Assert.All(a, v => Assert.True(float.IsFinite(v)));
    }
}
