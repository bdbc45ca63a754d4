using static TorchSharp.torch;

namespace Service.Training;

/// <summary>
/// The bi-encoder baseline with in-batch negatives (MultipleNegativesRankingLoss in sentence-transformers):
/// query i's positive is item i, and every other item in the batch is a negative,
/// <code>
///   S[i, j] = scale · cos(q_i, d_j),   L = (1/B) Σ_i −log softmax(S[i, :])_i
/// </code>
/// i.e. cross-entropy over each row of the scaled cosine matrix with target i. Scale 20 (a temperature of 0.05).
/// </summary>
public sealed class InBatchSoftmaxLoss(double scale = InBatchSoftmaxLoss.DefaultScale)
{
    public const double DefaultScale = 20;

    public double Scale { get; } = scale > 0 ? scale : throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be positive.");

    /// <param name="queries">[B, D]</param>
    /// <param name="items">[B, D], row i the positive of query i.</param>
    /// <returns>A scalar: the mean over queries.</returns>
    public Tensor Compute(Tensor queries, Tensor items)
    {
        if (queries.dim() != 2 || !queries.shape.SequenceEqual(items.shape))
            throw new ArgumentException($"queries [{string.Join(", ", queries.shape)}] and items [{string.Join(", ", items.shape)}] must both be [B, D].");
        using var scope = NewDisposeScope();
        var q = nn.functional.normalize(queries, p: 2, dim: 1);
        var d = nn.functional.normalize(items, p: 2, dim: 1);
        var logits = q.matmul(d.t()).mul(Scale); // [B, B]
        var targets = arange(queries.shape[0], dtype: ScalarType.Int64, device: queries.device);
        return nn.functional.cross_entropy(logits, targets).MoveToOuterDisposeScope();
    }
}
