using System.Diagnostics;

namespace Service.Index;

/// <summary>
/// The two references ANNCUR is measured against, answered in the shape of <see cref="AnnCurResult"/>: retrieve-and-rerank
/// (a bi-encoder shortlist re-ranked by the cross-encoder, the usual production pipeline) and exhaustive search (the
/// cross-encoder on every item, the exact top-k).
/// </summary>
public static class BaselineSearch
{
    /// <summary>
    /// de-rerank: the <paramref name="budget"/> live items nearest to the query by bi-encoder cosine, scored by the cross-encoder,
    /// top-k by exact score. CE calls: min(budget, live items). The query's embedding and the shortlist count as approximation time.
    /// </summary>
    public static async Task<AnnCurResult> RetrieveAndRerankAsync(
        AnchorIndex index, ItemEmbeddings embeddings, ITextEmbedder embedder, ICrossEncoderScorer scorer,
        string query, int k, int budget, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(embedder);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(budget, 1);
        var watch = Stopwatch.StartNew();
        var snapshot = index.Snapshot();
        var vector = (await embedder.EmbedAsync([query], cancellationToken).ConfigureAwait(false))[0];
        var shortlist = embeddings.Shortlist(vector, snapshot, budget);
        var approximation = watch.Elapsed;
        watch.Restart();
        var scores = await ScoreAsync(scorer, query, snapshot, shortlist, cancellationToken).ConfigureAwait(false);
        return new AnnCurResult(Top(snapshot, shortlist, scores, k), shortlist.Length, default, approximation, watch.Elapsed);
    }

    /// <summary>exhaustive: the cross-encoder on every live item and the exact top-k. CE calls: the live items, all counted as re-ranking.</summary>
    public static async Task<AnnCurResult> ExhaustiveAsync(
        AnchorIndex index, ICrossEncoderScorer scorer, string query, int k, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var watch = Stopwatch.StartNew();
        var snapshot = index.Snapshot();
        var live = Enumerable.Range(0, snapshot.Count).Where(snapshot.IsLive).ToArray();
        var scores = await ScoreAsync(scorer, query, snapshot, live, cancellationToken).ConfigureAwait(false);
        return new AnnCurResult(Top(snapshot, live, scores, k), live.Length, default, default, watch.Elapsed);
    }

    static async Task<float[]> ScoreAsync(
        ICrossEncoderScorer scorer, string query, AnchorIndexSnapshot snapshot, int[] items, CancellationToken cancellationToken)
    {
        if (items.Length == 0)
            return [];
        var scores = await scorer.ScoreAsync(query, items.Select(snapshot.Text).ToArray(), cancellationToken).ConfigureAwait(false);
        if (scores.Length != items.Length)
            throw new InvalidOperationException($"The scorer returned {scores.Length} scores for {items.Length} items.");
        return scores;
    }

    /// <summary>Best first, ties to the lower position, as <see cref="AnnCurSearch"/> orders; items deleted meanwhile are left out.</summary>
    static List<ScoredItem> Top(AnchorIndexSnapshot snapshot, int[] items, float[] scores, int k) =>
        items.Zip(scores)
            .Where(pair => snapshot.IsLive(pair.First))
            .OrderByDescending(pair => pair.Second).ThenBy(pair => pair.First)
            .Take(k)
            .Select(pair => new ScoredItem(snapshot.Id(pair.First), snapshot.Text(pair.First), pair.Second))
            .ToList();
}
