using System.Numerics.Tensors;

namespace Service.Models.Text;

/// <summary>
/// Sentence-Transformers pooling: the mean of the token states under the attention mask,
/// e = Σ_l m_l h_l / Σ_l m_l, optionally scaled to unit L2 norm (the all-MiniLM-L6-v2 model card).
/// </summary>
/// <remarks>
/// Notation: hidden // h [L, D], the encoder's last hidden state of one sequence;
/// length // Σ m_l, the number of real (unpadded) tokens, which come first.
/// </remarks>
public static class MeanPooling
{
    /// <param name="hidden">Token states of one sequence, row-major [L, D]; rows past <paramref name="length"/> are padding.</param>
    /// <param name="length">Real tokens at the front of the sequence (≥ 1).</param>
    /// <param name="output">The pooled vector [D].</param>
    public static void Pool(ReadOnlySpan<float> hidden, int length, Span<float> output)
    {
        var dimensions = output.Length;
        if (length < 1 || hidden.Length < length * dimensions)
            throw new ArgumentException($"Need at least {length} rows of {dimensions} values, got {hidden.Length} values.");

        hidden[..dimensions].CopyTo(output);
        for (var l = 1; l < length; l++)
            TensorPrimitives.Add(output, hidden.Slice(l * dimensions, dimensions), output);
        TensorPrimitives.Divide(output, length, output);
    }

    /// <summary>e / max(‖e‖₂, 1e-12), as torch.nn.functional.normalize does.</summary>
    public static void Normalize(Span<float> vector)
    {
        var norm = TensorPrimitives.Norm(vector);
        TensorPrimitives.Divide(vector, MathF.Max(norm, 1e-12f), vector);
    }
}
