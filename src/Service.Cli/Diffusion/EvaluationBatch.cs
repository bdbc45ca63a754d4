using Service.Models.Diffusion;

namespace Service.Cli.Diffusion;

/// <summary>
/// One batch of an FID cell: x_{τ_K} and the sampler's noise come from a generator seeded with seed·1,000,003 + b, so
/// every cell of a seed starts from the same draws (common random numbers), and `diffusion preview` reproduces a cell.
/// </summary>
static class EvaluationBatch
{
    /// <summary>Samples batch <paramref name="batch"/> into <paramref name="x"/> [B, d] in place.</summary>
    public static void Sample(IEpsilonModel model, DiffusionSamplerSettings settings, int seed, int batch, Span<float> x, DiffusionStepCallback? onStep = null)
    {
        var random = new Random(unchecked(seed * 1_000_003 + batch));
        GaussianNoise.Fill(random, x);
        DiffusionSampler.Sample(model, settings, x, x, random, onStep);
    }
}
