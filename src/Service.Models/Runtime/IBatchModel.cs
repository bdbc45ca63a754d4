namespace Service.Models.Runtime;

/// <summary>
/// A model that maps a batch of token sequences to a fixed number of floats each.
/// Called only from its worker's owner thread, one batch at a time.
/// </summary>
public interface IBatchModel : IDisposable
{
    /// <summary>Floats produced per sequence (e.g. the embedding dimension, or 1 for a score).</summary>
    int OutputSize { get; }

    /// <param name="sequences">Token ids, each starting with [CLS]; lengths may differ.</param>
    /// <param name="tokenTypes">Segment ids row by row (same lengths as the ids), or null for one segment (all 0).</param>
    /// <param name="output">Row-major [B, OutputSize].</param>
    void Run(IReadOnlyList<int[]> sequences, IReadOnlyList<int[]>? tokenTypes, Span<float> output);
}
