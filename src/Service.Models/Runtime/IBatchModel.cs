using Service.Models.Text;

namespace Service.Models.Runtime;

/// <summary>
/// A model that maps a batch of token sequences to a fixed number of floats each.
/// Called only from its worker's owner thread, one batch at a time.
/// </summary>
public interface IBatchModel : IDisposable
{
    /// <summary>Floats produced per sequence (e.g. the embedding dimension, or 1 for a score).</summary>
    int OutputSize { get; }

    /// <param name="batch">Token ids, each row starting with [CLS], padded by <see cref="PaddedBatch.Pad"/>.</param>
    /// <param name="output">Row-major [B, OutputSize].</param>
    void Run(PaddedBatch batch, Span<float> output);
}

public static class BatchModelExtensions
{
    /// <summary>Pads the rows (<see cref="PaddedBatch.Pad"/>) and runs them as one batch.</summary>
    /// <param name="sequences">Token ids, each starting with [CLS]; lengths may differ.</param>
    /// <param name="tokenTypes">Segment ids row by row (same lengths as the ids), or null for one segment (all 0).</param>
    /// <param name="output">Row-major [B, OutputSize].</param>
    public static void Run(this IBatchModel model, IReadOnlyList<int[]> sequences, IReadOnlyList<int[]>? tokenTypes, Span<float> output) =>
        model.Run(PaddedBatch.Pad(sequences, tokenTypes), output);
}
