using System.Numerics.Tensors;

namespace Service.Cli.Text.Training;

/// <summary>
/// The frozen base bi-encoder's view of each candidate list, for cross-encoder training: its cosines cos(q, dᵢ), used as
/// a teacher's soft target p_t = softmax(scale · cos) (knowledge distillation, Hinton et al. 2015) or as the fixed term
/// of a residual score s = f(q, d) + w · cos(q, d). Embeddings are cached by text: a query or item met again costs nothing.
/// </summary>
/// <remarks>
/// Why: on the dev senses ranking the base bi-encoder and the cross-encoder are right on different queries (each alone
/// on 193 and 267 of 1,671), so a cross-encoder that keeps the bi-encoder's view while it learns the labels has more to
/// gain than either alone.
/// </remarks>
public sealed class BaseBiEncoder(TextScorer scorer)
{
    readonly Dictionary<string, float[]> cache = new(StringComparer.Ordinal);

    /// <summary>cos(q, dᵢ) for every list, concatenated in list order: [Σ list sizes].</summary>
    public float[] Cosines(IReadOnlyList<CandidateList> lists)
    {
        var missing = lists.SelectMany(l => l.Items.Prepend(l.Query)).Where(t => !cache.ContainsKey(t)).Distinct().ToList();
        if (missing.Count > 0)
        {
            var d = scorer.Dimension;
            var vectors = scorer.Embed(missing); // [M, D], unit rows
            for (var i = 0; i < missing.Count; i++)
                cache[missing[i]] = vectors.AsSpan(i * d, d).ToArray();
        }
        return lists.SelectMany(list => list.Items.Select(item => TensorPrimitives.Dot(cache[list.Query], cache[item]))).ToArray();
    }

    /// <summary>p_t = softmax(scale · cos) over each list, concatenated in list order: [Σ list sizes].</summary>
    public float[] SoftTargets(IReadOnlyList<CandidateList> lists, float scale)
    {
        var cosines = Cosines(lists);
        var offset = 0;
        foreach (var list in lists)
        {
            var logits = cosines.AsSpan(offset, list.Items.Count);
            TensorPrimitives.Multiply(logits, scale, logits);
            TensorPrimitives.SoftMax(logits, logits);
            offset += list.Items.Count;
        }
        return cosines;
    }
}
