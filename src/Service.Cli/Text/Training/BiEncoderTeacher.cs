using System.Numerics.Tensors;

namespace Service.Cli.Text.Training;

/// <summary>
/// The base bi-encoder as a teacher for a cross-encoder: the soft target over a candidate list is
/// p_t = softmax(scale · cos(q, dᵢ)), the bi-encoder's own ranking of the list (knowledge distillation, Hinton et al. 2015).
/// Embeddings are cached by text: a query or item met again costs nothing.
/// </summary>
/// <remarks>
/// Why: on the dev senses ranking the base bi-encoder and the cross-encoder are right on different queries (each alone
/// on 193 and 267 of 1,671), so a cross-encoder that keeps the bi-encoder's view while it learns the labels has more to
/// gain than either alone.
/// </remarks>
public sealed class BiEncoderTeacher(TextScorer scorer, float scale)
{
    readonly Dictionary<string, float[]> cache = new(StringComparer.Ordinal);

    /// <summary>p_t for every list, concatenated in list order: [Σ list sizes].</summary>
    public float[] Targets(IReadOnlyList<CandidateList> lists)
    {
        var missing = lists.SelectMany(l => l.Items.Prepend(l.Query)).Where(t => !cache.ContainsKey(t)).Distinct().ToList();
        if (missing.Count > 0)
        {
            var d = scorer.Dimension;
            var vectors = scorer.Embed(missing); // [M, D], unit rows
            for (var i = 0; i < missing.Count; i++)
                cache[missing[i]] = vectors.AsSpan(i * d, d).ToArray();
        }
        var targets = new List<float>();
        foreach (var list in lists)
        {
            var logits = list.Items.Select(item => scale * TensorPrimitives.Dot(cache[list.Query], cache[item])).ToArray();
            TensorPrimitives.SoftMax(logits, logits);
            targets.AddRange(logits);
        }
        return targets.ToArray();
    }
}
