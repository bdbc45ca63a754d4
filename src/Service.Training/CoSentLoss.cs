using static TorchSharp.torch;

namespace Service.Training;

/// <summary>
/// CoSENT (Su, 2022): a ranking loss over every pair in the batch whose labels differ,
/// <code>
///   L = log(1 + Σ_{(i, j): label(i) > label(j)} exp(λ (s_j − s_i)))
/// </code>
/// so each pair is pushed towards s_i &gt; s_j by a margin set by λ. Pairs with equal labels contribute nothing,
/// and there are no in-batch negatives: only the given (score, label) pairs are compared.
/// </summary>
/// <remarks>
/// <para>Scores: cosine similarities of two embeddings for a bi-encoder (λ = 20, as in the paper, since cosines live
/// in [−1, 1]), or the raw Dense(1) output on [CLS] of a cross-encoder (λ = 1, the seed post's "no scale").</para>
/// <para>Computed stably as logsumexp over [0, λ(s_j − s_i) for every counted pair]: the 0 is the "1 +", and
/// uncounted pairs are set to −∞ so they add exp(−∞) = 0.</para>
/// </remarks>
public sealed class CoSentLoss(double lambda)
{
    /// <summary>λ for cosine scores.</summary>
    public const double CosineLambda = 20;

    /// <summary>λ for raw (unbounded) cross-encoder scores.</summary>
    public const double RawScoreLambda = 1;

    public static CoSentLoss ForCosine() => new(CosineLambda);

    public static CoSentLoss ForCrossEncoder() => new(RawScoreLambda);

    public double Lambda { get; } = lambda > 0 ? lambda : throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "λ must be positive.");

    /// <param name="scores">[N] one score per pair (any float type; differentiable).</param>
    /// <param name="labels">[N] graded or binary labels; only their order matters.</param>
    /// <returns>A scalar.</returns>
    public Tensor Compute(Tensor scores, Tensor labels)
    {
        if (scores.dim() != 1 || labels.dim() != 1 || scores.shape[0] != labels.shape[0])
            throw new ArgumentException($"scores [{string.Join(", ", scores.shape)}] and labels [{string.Join(", ", labels.shape)}] must both be [N].");
        using var scope = NewDisposeScope();
        var s = scores.flatten();
        var y = labels.to_type(s.dtype);
        // differences[i, j] = λ (s_j − s_i); counted[i, j] = label(i) > label(j).
        var differences = (s.unsqueeze(0) - s.unsqueeze(1)).mul(Lambda);
        var counted = y.unsqueeze(1).gt(y.unsqueeze(0));
        var terms = differences.masked_fill(counted.logical_not(), double.NegativeInfinity).flatten();
        var withOne = cat([zeros(1, s.dtype, s.device), terms]);
        return withOne.logsumexp(0).MoveToOuterDisposeScope();
    }

    /// <summary>Cosine-score CoSENT for a bi-encoder: s = cos(a_k, b_k) per pair k.</summary>
    /// <param name="a">[N, D]</param>
    /// <param name="b">[N, D]</param>
    public Tensor ComputeCosine(Tensor a, Tensor b, Tensor labels)
    {
        using var scope = NewDisposeScope();
        return Compute(nn.functional.cosine_similarity(a, b, 1), labels).MoveToOuterDisposeScope();
    }
}
