using System.Diagnostics;

namespace Service.Index;

/// <summary>How one search spends its budget of k_i + k_r cross-encoder calls.</summary>
public sealed record AnnCurOptions
{
    /// <summary>Results returned.</summary>
    public int K { get; init; } = 10;

    /// <summary>k_i: anchor items scored with the query, over all rounds.</summary>
    public int AnchorItems { get; init; } = 50;

    /// <summary>k_r: items re-ranked with exact CE scores, chosen by ŝ.</summary>
    public int Rerank { get; init; } = 50;

    /// <summary>1: ANNCUR (random anchors only); more: ADACUR, k_i split over this many rounds.</summary>
    public int Rounds { get; init; } = 1;

    /// <summary>Draws the random anchor items; one seed gives one fixed anchor set, whose E is cached.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Chooses the first round's k_i¹ anchors (snapshot, count → live item positions), e.g. the bi-encoder's nearest items
    /// (ADACUR's DE-initialised variant); null: the index's fixed random set, whose E is cached.
    /// </summary>
    public Func<AnchorIndexSnapshot, int, int[]>? FirstAnchors { get; init; }

    /// <summary>rcond of the pseudo-inverses; null: the index's rule (<see cref="AnchorIndex.RelativeCutoff"/>).</summary>
    public double? RelativeCutoff { get; init; }

    public int Budget => AnchorItems + Rerank;
}

/// <param name="CrossEncoderCalls">CE calls made, ≤ k_i + k_r.</param>
/// <param name="AnchorScoring">Time in CE calls on anchor items.</param>
/// <param name="Approximation">Time computing ŝ, pseudo-inverses and top-k selections (and U, E on an anchor set's first use).</param>
/// <param name="Rerank">Time in CE calls re-ranking.</param>
public sealed record AnnCurResult(IReadOnlyList<ScoredItem> Items, int CrossEncoderCalls, TimeSpan AnchorScoring, TimeSpan Approximation, TimeSpan Rerank);

/// <summary>
/// k-NN search under a cross-encoder at a budget of B = k_i + k_r CE calls per query: ANNCUR (Yadav et al., EMNLP 2022, §3)
/// and its adaptive multi-round variant ADACUR (Yadav et al., 2023).
/// </summary>
/// <remarks>
/// <para>Notation:</para>
/// <code>
/// anchors // the query's anchor items; the first round's k_i¹ are the index's fixed random set (cached U, E), or FirstAnchors' choice
/// c       // CE(q, anchors) [|anchors|]
/// u       // U = pinv(R[:, anchors]) [|anchors| × k_q], per query after round 1
/// sHat    // ŝ [N]: c E in round 1 (random set), (c U) R otherwise
/// </code>
/// <para>ANNCUR: c on k_i random anchors, ŝ = c E, exact CE on the top k_r items by ŝ, top-k by exact score.</para>
/// <para>ADACUR: k_i is split over the rounds (earlier rounds take the remainder); each later round takes the items with the best
/// ŝ that are not yet anchors as new anchors, scores them, and recomputes U and ŝ on the grown set, so the approximation
/// sharpens where the top items are.</para>
/// <para>Anchors are never re-ranked again, and their exact scores compete in the final top-k: every CE call counts once.
/// Tombstoned items are never anchors of later rounds, re-ranked or returned.</para>
/// </remarks>
public sealed class AnnCurSearch(AnchorIndex index, ICrossEncoderScorer scorer)
{
    public async Task<AnnCurResult> SearchAsync(string query, AnnCurOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.K, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.AnchorItems, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Rerank);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Rounds, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Rounds, options.AnchorItems);

        var anchorItems = Math.Min(options.AnchorItems, index.LiveCount);
        if (anchorItems == 0)
            return new AnnCurResult([], 0, default, default, default);
        var roundSizes = RoundSizes(anchorItems, Math.Min(options.Rounds, anchorItems));
        var watch = Stopwatch.StartNew();
        TimeSpan scoring = default, approximation = default;
        AnchorIndexSnapshot snapshot;
        List<int> anchors;
        List<float> c;
        float[] sHat;
        if (options.FirstAnchors is { } choose)
        {
            snapshot = index.Snapshot();
            anchors = [.. choose(snapshot, roundSizes[0])];
            if (anchors.Count == 0 || anchors.Distinct().Count() != anchors.Count || !anchors.All(a => a < snapshot.Count && snapshot.IsLive(a)))
                throw new InvalidOperationException("FirstAnchors must return distinct live item positions.");
            Lap(ref approximation);
            c = [.. await ScoreAsync(query, snapshot, anchors, cancellationToken).ConfigureAwait(false)];
            Lap(ref scoring);
            sHat = new float[snapshot.Count]; // ŝ [N]
            Reapproximate(snapshot, anchors, c, options.RelativeCutoff, sHat);
        }
        else
        {
            (snapshot, var approximator) = index.AcquireAnchors(roundSizes[0], options.Seed, options.RelativeCutoff); // builds U and E on a set's first use
            Lap(ref approximation);
            anchors = [.. approximator.Anchors];
            c = [.. await ScoreAsync(query, snapshot, anchors, cancellationToken).ConfigureAwait(false)];
            Lap(ref scoring);
            sHat = new float[snapshot.Count]; // ŝ [N]
            approximator.Approximate(c.ToArray(), sHat);
        }
        foreach (var size in roundSizes.Skip(1))
        {
            var added = TopK.Select(Exclude(sHat, snapshot, anchors), size);
            Lap(ref approximation);
            anchors.AddRange(added);
            c.AddRange(await ScoreAsync(query, snapshot, added, cancellationToken).ConfigureAwait(false));
            Lap(ref scoring);
            Reapproximate(snapshot, anchors, c, options.RelativeCutoff, sHat);
        }

        var rerank = TopK.Select(Exclude(sHat, snapshot, anchors), options.Rerank);
        Lap(ref approximation);
        var exact = await ScoreAsync(query, snapshot, rerank, cancellationToken).ConfigureAwait(false);
        var rerankTime = watch.Elapsed;

        var results = anchors.Zip(c).Concat(rerank.Zip(exact))
            .Where(pair => snapshot.IsLive(pair.First))
            .OrderByDescending(pair => pair.Second).ThenBy(pair => pair.First)
            .Take(options.K)
            .Select(pair => new ScoredItem(snapshot.Id(pair.First), snapshot.Text(pair.First), pair.Second))
            .ToList();
        return new AnnCurResult(results, anchors.Count + rerank.Length, scoring, approximation, rerankTime);

        void Lap(ref TimeSpan total)
        {
            total += watch.Elapsed;
            watch.Restart();
        }
    }

    /// <summary>k_i over the rounds: ⌊k_i / rounds⌋ each, the remainder one by one to the earliest rounds.</summary>
    public static int[] RoundSizes(int anchorItems, int rounds) =>
        [.. Enumerable.Range(0, rounds).Select(r => anchorItems / rounds + (r < anchorItems % rounds ? 1 : 0))];

    /// <summary>ŝ = (c U) R with U = pinv(R[:, anchors]) for this query's anchors, without forming E.</summary>
    void Reapproximate(AnchorIndexSnapshot snapshot, List<int> anchors, List<float> c, double? relativeCutoff, Span<float> sHat)
    {
        var queryCount = snapshot.Scores.Rows;
        var u = new float[anchors.Count * queryCount]; // U [k_i × k_q]
        CurApproximator.ComputeU(snapshot.Scores, anchors.ToArray(), relativeCutoff ?? index.RelativeCutoff(anchors.Count), u);
        var weights = new float[queryCount];            // w = c U [k_q]
        CurApproximator.Weights(c.ToArray(), u, weights);
        CurApproximator.Combine(weights, snapshot.Scores, 0, sHat);
    }

    /// <summary>A copy of ŝ with anchors and tombstones at −∞, the mark <see cref="TopK.Select"/> skips.</summary>
    static float[] Exclude(float[] sHat, AnchorIndexSnapshot snapshot, List<int> anchors)
    {
        var candidates = (float[])sHat.Clone();
        foreach (var anchor in anchors)
            candidates[anchor] = float.NegativeInfinity;
        if (snapshot.LiveCount < snapshot.Count)
            for (var i = 0; i < candidates.Length; i++)
                if (!snapshot.IsLive(i))
                    candidates[i] = float.NegativeInfinity;
        return candidates;
    }

    async Task<float[]> ScoreAsync(string query, AnchorIndexSnapshot snapshot, IReadOnlyList<int> items, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
            return [];
        var scores = await scorer.ScoreAsync(query, items.Select(snapshot.Text).ToArray(), cancellationToken).ConfigureAwait(false);
        if (scores.Length != items.Count)
            throw new InvalidOperationException($"The scorer returned {scores.Length} scores for {items.Count} items.");
        return scores;
    }
}
