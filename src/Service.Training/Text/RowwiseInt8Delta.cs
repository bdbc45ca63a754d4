using System.Numerics.Tensors;

namespace Service.Training.Text;

/// <summary>
/// Symmetric absmax int8 quantization of a fine-tuning delta, one scale per output row (the vector-wise scheme of
/// LLM.int8(), Dettmers et al. 2022, §3.1, applied to Δ = W − W₀ instead of W).
/// </summary>
/// <remarks>
/// <para>s_o = max_i |Δ_oi| / 127,  Q_oi = round(Δ_oi / s_o) ∈ [−127, 127],  Δ̂_oi = s_o · Q_oi,  |Δ̂_oi − Δ_oi| ≤ s_o / 2.</para>
/// <para>Why the delta: a fine-tuned weight is W₀ plus a small change, so one byte per weight spent on the change alone
/// errs far less than float16 spent on all of W (relative rounding 2⁻¹¹ of |W|), at half the bytes.</para>
/// <para>Notation: W₀, W [out, in] the base and fine-tuned weights; Δ = W − W₀; s [out] the scales; Q [out, in] the codes.
/// A row with Δ = 0 gets s = 0 and Q = 0.</para>
/// </remarks>
public static class RowwiseInt8Delta
{
    public const int MaxCode = 127;

    /// <summary>Codes Q [rows, columns] (integers as floats) and scales s [rows] of W − W₀ (both [rows, columns], row-major).</summary>
    public static (float[] Codes, float[] Scales) Quantize(ReadOnlySpan<float> weight, ReadOnlySpan<float> baseWeight, int rows, int columns)
    {
        if (weight.Length != rows * columns || baseWeight.Length != weight.Length)
            throw new ArgumentException($"W and W₀ must both hold {rows} × {columns} values; they hold {weight.Length} and {baseWeight.Length}.");
        var codes = new float[weight.Length];
        var scales = new float[rows];
        var delta = new float[columns];
        for (var o = 0; o < rows; o++)
        {
            TensorPrimitives.Subtract(weight.Slice(o * columns, columns), baseWeight.Slice(o * columns, columns), delta);
            var scale = TensorPrimitives.MaxMagnitude(delta) is var m && m != 0 ? MathF.Abs(m) / MaxCode : 0f;
            scales[o] = scale;
            if (scale == 0)
                continue;
            for (var i = 0; i < columns; i++)
                codes[o * columns + i] = Math.Clamp(MathF.Round(delta[i] / scale), -MaxCode, MaxCode);
        }
        return (codes, scales);
    }
}
