using System.Numerics.Tensors;

namespace Service.Index;

/// <summary>What an index was built with: the scorer it is only valid for, when, and the precision R is stored at.</summary>
/// <param name="ModelId">The cross-encoder's name, for people.</param>
/// <param name="ModelHash">A digest of the cross-encoder's weights; a loader refuses an index built with another model.</param>
public sealed record AnchorIndexInfo(string ModelId, string ModelHash, DateTimeOffset Created, ScoreType StoredAs);

/// <summary>
/// The in-memory ANNCUR index of one item collection: R = CE(anchor queries × items) [k_q × N], the items' ids and texts,
/// tombstones, and the <see cref="CurApproximator"/> of each fixed anchor set in use.
/// </summary>
/// <remarks>
/// <para>Thread safety: writers (insert, delete, creating an approximator) take one lock; searches read a
/// <see cref="AnchorIndexSnapshot"/> without it, and the CE calls of an insert run outside it.</para>
/// <para>Deletion is a tombstone: the column stays in R and in every E, so the U and E of any anchor set without the item stay
/// valid, and searches skip it. Deleting an anchor item drops the approximators that use it; the next search draws a new set
/// among the live items with the same seed. <see cref="AnchorIndexFile.Save"/> writes live items only, so a reload compacts.</para>
/// <para>R holds exactly the values its storage type can represent (float16 indexes round on entry), so what is searched equals
/// what a save and load gives back, and the pseudo-inverse cutoff can use that type's epsilon.</para>
/// </remarks>
public sealed class AnchorIndex
{
    readonly Lock gate = new();
    readonly string[] anchorQueries;
    readonly ColumnAppendMatrix scores; // R [k_q × N]
    readonly Dictionary<string, int> positions = new(StringComparer.Ordinal); // live items only
    readonly Dictionary<(int Count, int Seed, double Cutoff), CurApproximator> approximators = [];
    string[] ids;
    string[] texts;
    bool[] deleted;
    int liveCount;

    /// <param name="scores">R, one row per anchor query, each at least items.Count long; adopted, not copied.</param>
    public AnchorIndex(AnchorIndexInfo info, IReadOnlyList<string> anchorQueries, IReadOnlyList<IndexItem> items, float[][] scores)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(anchorQueries);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(scores);
        if (anchorQueries.Count == 0)
            throw new ArgumentException("An index needs at least one anchor query.", nameof(anchorQueries));
        if (scores.Length != anchorQueries.Count)
            throw new ArgumentException($"R has {scores.Length} rows for {anchorQueries.Count} anchor queries.", nameof(scores));

        Info = info;
        this.anchorQueries = [.. anchorQueries];
        foreach (var row in scores)
        {
            if (row.Length < items.Count)
                throw new ArgumentException($"Every row of R needs {items.Count} scores.", nameof(scores));
            Admit(row.AsSpan(0, items.Count));
        }
        this.scores = new ColumnAppendMatrix(scores, items.Count);

        ids = new string[items.Count];
        texts = new string[items.Count];
        deleted = new bool[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (!positions.TryAdd(item.Id, i))
                throw new ArgumentException($"Item id '{item.Id}' appears twice.", nameof(items));
            ids[i] = item.Id;
            texts[i] = item.Text;
        }
        liveCount = items.Count;
    }

    public AnchorIndexInfo Info { get; }

    public IReadOnlyList<string> AnchorQueries => anchorQueries;

    /// <summary>k_q.</summary>
    public int QueryCount => anchorQueries.Length;

    public int LiveCount => Volatile.Read(ref liveCount);

    /// <summary>
    /// rcond for the pseudo-inverse of R[:, anchors] with k_i anchors: the larger of the storage rounding's bound
    /// (<see cref="PseudoInverse.DefaultRelativeCutoff"/>) and <see cref="RegularizingCutoff"/>.
    /// </summary>
    public double RelativeCutoff(int anchorCount) =>
        Math.Max(PseudoInverse.DefaultRelativeCutoff(QueryCount, anchorCount, Info.StoredAs), RegularizingCutoff);

    /// <summary>
    /// The smallest rcond a search uses. ŝ = c A⁺ R is a least-squares fit of the query's anchor scores c by the k_q anchor
    /// queries' rows; the part of c outside their span is multiplied by 1/σ, and where k_i ≈ k_q the smallest σ of A are
    /// tiny (the double-descent peak), so cutting them regularises the fit. Chosen on the dev domain, never on a test one
    /// (docs/results/cur.md).
    /// </summary>
    public const double RegularizingCutoff = 0.03;

    public AnchorIndexSnapshot Snapshot()
    {
        lock (gate)
            return SnapshotLocked();
    }

    public bool Contains(string id)
    {
        lock (gate)
            return positions.ContainsKey(id);
    }

    /// <summary>
    /// A snapshot and the approximator of the fixed anchor set (k_i = <paramref name="count"/> live items drawn uniformly with
    /// <paramref name="seed"/>), consistent with each other. The approximator is built on first use (O(k_i·k_q·N)) and cached
    /// until one of its anchors is deleted.
    /// </summary>
    /// <param name="relativeCutoff">rcond of U; null: <see cref="RelativeCutoff"/>.</param>
    public (AnchorIndexSnapshot Snapshot, CurApproximator Approximator) AcquireAnchors(int count, int seed, double? relativeCutoff = null)
    {
        lock (gate)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
            if (count > liveCount)
                throw new ArgumentOutOfRangeException(nameof(count), count, $"The index has only {liveCount} live items to draw anchors from.");
            var cutoff = relativeCutoff ?? RelativeCutoff(count);
            if (!approximators.TryGetValue((count, seed, cutoff), out var approximator))
            {
                approximator = new CurApproximator(scores.Current, DrawAnchors(count, seed), cutoff);
                approximators.Add((count, seed, cutoff), approximator);
            }
            return (SnapshotLocked(), approximator);
        }
    }

    /// <summary>Scores the new items against the k_q anchor queries (k_q CE calls each) and appends them without re-indexing.</summary>
    /// <returns>The CE calls made: k_q × items.Count.</returns>
    public async Task<int> InsertAsync(IReadOnlyList<IndexItem> items, ICrossEncoderScorer scorer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(scorer);
        if (items.Count == 0)
            return 0;
        if (items.Select(item => item.Id).Distinct(StringComparer.Ordinal).Count() != items.Count)
            throw new ArgumentException("The new items repeat an id.", nameof(items));
        lock (gate)
            ThrowIfPresent(items);

        var added = items.Count;
        var itemTexts = items.Select(item => item.Text).ToArray();
        var block = new float[QueryCount * added]; // R_new [k_q × m]
        for (var t = 0; t < QueryCount; t++)
        {
            var row = await scorer.ScoreAsync(anchorQueries[t], itemTexts, cancellationToken).ConfigureAwait(false);
            if (row.Length != added)
                throw new InvalidOperationException($"The scorer returned {row.Length} scores for {added} items.");
            row.CopyTo(block.AsSpan(t * added));
        }
        Admit(block);

        lock (gate)
        {
            ThrowIfPresent(items); // another insert may have added them while we scored
            var start = scores.Columns;
            EnsureItemCapacity(start + added);
            for (var i = 0; i < added; i++)
            {
                ids[start + i] = items[i].Id;
                texts[start + i] = items[i].Text;
                positions.Add(items[i].Id, start + i);
            }
            scores.AppendColumns(block, added);
            foreach (var approximator in approximators.Values)
                approximator.AppendItems(scores.Current);
            Volatile.Write(ref liveCount, liveCount + added);
        }
        return QueryCount * added;
    }

    /// <summary>Tombstones the item; drops the cached approximators that use it as an anchor.</summary>
    /// <returns>False when no live item has this id.</returns>
    public bool Delete(string id)
    {
        lock (gate)
        {
            if (!positions.Remove(id, out var position))
                return false;
            deleted[position] = true;
            Volatile.Write(ref liveCount, liveCount - 1);
            foreach (var key in approximators.Where(entry => entry.Value.UsesAnchor(position)).Select(entry => entry.Key).ToList())
                approximators.Remove(key);
            return true;
        }
    }

    /// <summary>Whether an approximator for this anchor set is cached (for tests and status pages).</summary>
    public bool HasCachedAnchors(int count, int seed)
    {
        lock (gate)
            return approximators.Keys.Any(key => key.Count == count && key.Seed == seed);
    }

    AnchorIndexSnapshot SnapshotLocked() => new(scores.Current, ids, texts, deleted, liveCount);

    /// <summary>Partial Fisher–Yates over the live items: a uniform sample without replacement, fixed by the seed.</summary>
    int[] DrawAnchors(int count, int seed)
    {
        var live = Enumerable.Range(0, scores.Columns).Where(i => !deleted[i]).ToArray();
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var j = random.Next(i, live.Length);
            (live[i], live[j]) = (live[j], live[i]);
        }
        return live[..count];
    }

    void ThrowIfPresent(IReadOnlyList<IndexItem> items)
    {
        foreach (var item in items)
            if (positions.ContainsKey(item.Id))
                throw new ArgumentException($"Item id '{item.Id}' is already in the index.", nameof(items));
    }

    /// <summary>New arrays on growth, so snapshots holding the old ones stay valid.</summary>
    void EnsureItemCapacity(int required)
    {
        if (ids.Length >= required)
            return;
        var capacity = Math.Max(required, Math.Max(16, 2 * ids.Length));
        var count = scores.Columns;
        var newIds = new string[capacity];
        var newTexts = new string[capacity];
        var newDeleted = new bool[capacity];
        ids.AsSpan(0, count).CopyTo(newIds);
        texts.AsSpan(0, count).CopyTo(newTexts);
        deleted.AsSpan(0, count).CopyTo(newDeleted);
        (ids, texts, deleted) = (newIds, newTexts, newDeleted);
    }

    /// <summary>Refuses non-finite scores (they poison the pseudo-inverse) and rounds to the storage type.</summary>
    void Admit(Span<float> values)
    {
        foreach (var value in values)
            if (!float.IsFinite(value) || (Info.StoredAs == ScoreType.Float16 && Math.Abs(value) > (float)Half.MaxValue))
                throw new ArgumentException($"Score {value} cannot be stored as {Info.StoredAs}.");
        if (Info.StoredAs == ScoreType.Float16)
        {
            var half = new Half[values.Length];
            TensorPrimitives.ConvertToHalf(values, half);
            TensorPrimitives.ConvertToSingle(half, values);
        }
    }
}

/// <summary>
/// The index as one search sees it: the first <see cref="Count"/> items and their columns of R. Later inserts are not visible;
/// later deletions may be (a search may still return an item deleted while it ran).
/// </summary>
public sealed class AnchorIndexSnapshot
{
    readonly string[] ids;
    readonly string[] texts;
    readonly bool[] deleted;

    internal AnchorIndexSnapshot(MatrixRows scores, string[] ids, string[] texts, bool[] deleted, int liveCount)
    {
        Scores = scores;
        this.ids = ids;
        this.texts = texts;
        this.deleted = deleted;
        LiveCount = liveCount;
    }

    /// <summary>R [k_q × N].</summary>
    public MatrixRows Scores { get; }

    /// <summary>N: item positions, tombstones included.</summary>
    public int Count => Scores.Columns;

    public int LiveCount { get; }

    public string Id(int item) => ids[ItemIndex(item)];

    public string Text(int item) => texts[ItemIndex(item)];

    public bool IsLive(int item) => !deleted[ItemIndex(item)];

    int ItemIndex(int item)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(item);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(item, Count);
        return item;
    }
}
