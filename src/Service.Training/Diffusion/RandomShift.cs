using static TorchSharp.torch;

namespace Service.Training.Diffusion;

/// <summary>
/// Augmentation by small translations: each image moves by (dy, dx) ~ U{−s..s}², the uncovered border filled with the
/// background value −1. Not flips: digits are not mirror-symmetric.
/// </summary>
/// <remarks>Shapes: x₀ [B, C, H, W] → [B, C, H, W]. The offsets come from the caller's generator, so a run stays a
/// function of (seed, step).</remarks>
public sealed class RandomShift(int pixels)
{
    public const float Background = -1f;

    public int Pixels { get; } = pixels >= 0 ? pixels : throw new ArgumentOutOfRangeException(nameof(pixels), "A shift is ≥ 0 pixels.");

    public Tensor Apply(Tensor x0, Generator? generator)
    {
        if (Pixels == 0)
            return x0.alias();
        using var scope = NewDisposeScope();
        var (b, h, w) = (x0.shape[0], x0.shape[2], x0.shape[3]);
        var padded = nn.functional.pad(x0, [Pixels, Pixels, Pixels, Pixels], value: Background); // [B, C, H + 2s, W + 2s]
        var offsets = randint(0, 2 * Pixels + 1, [b, 2], dtype: ScalarType.Int64, generator: generator).data<long>().ToArray();
        var shifted = stack(Enumerable.Range(0, (int)b).Select(i =>
            padded[i].narrow(1, offsets[2 * i], h).narrow(2, offsets[2 * i + 1], w)).ToArray());
        return shifted.MoveToOuterDisposeScope();
    }
}
