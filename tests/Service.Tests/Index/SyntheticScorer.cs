using Service.Api.Features.Shared;
using Service.Index;

namespace Service.Tests.Index;

/// <summary>
/// A cross-encoder stand-in with known scores: s(q_a, x_i) = ⟨Q_a, I_i⟩/√r + σ·ε_ai with Q, I, ε standard Gaussian, all drawn
/// from one seed, so S = Q Iᵀ/√r has rank r when σ = 0. Query texts are "q{a}", item texts "item {i}", item ids "id{i}".
/// </summary>
sealed class SyntheticScorer : ICrossEncoderScorer
{
    readonly double[][] queryLatents;
    readonly Dictionary<string, int> queryIndex = new(StringComparer.Ordinal);
    readonly Dictionary<string, double[]> itemLatents = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> itemIndex = new(StringComparer.Ordinal);
    readonly float[][] noise; // ε [queries × items]
    readonly int rank;
    int calls;

    public SyntheticScorer(int queries, int items, int rank, double noise, int seed)
    {
        var random = new Random(seed);
        this.rank = rank;
        queryLatents = [.. Enumerable.Range(0, queries).Select(_ => Gaussian(random, rank))];
        for (var a = 0; a < queries; a++)
            queryIndex.Add(QueryText(a), a);
        for (var i = 0; i < items; i++)
        {
            itemLatents.Add(ItemText(i), Gaussian(random, rank));
            itemIndex.Add(ItemText(i), i);
        }
        this.noise = [.. Enumerable.Range(0, queries).Select(_ => Gaussian(random, items).Select(e => (float)(noise * e)).ToArray())];
    }

    public int Calls => Volatile.Read(ref calls);

    public int Rank => rank;

    public static string QueryText(int query) => $"q{query}";

    public static string ItemText(int item) => $"item {item}";

    public static string ItemId(int item) => $"id{item}";

    public static IndexItem Item(int item) => new(ItemId(item), ItemText(item));

    public static IReadOnlyList<IndexItem> Items(int from, int count) => [.. Enumerable.Range(from, count).Select(Item)];

    public static IReadOnlyList<string> Queries(int from, int count) => [.. Enumerable.Range(from, count).Select(QueryText)];

    /// <summary>Adds a noise-free item with the given latent vector (scaled like the others).</summary>
    public void AddItem(string text, double[] latent) => itemLatents.Add(text, latent);

    public double[] QueryLatent(int query) => queryLatents[query];

    public float Score(int query, string itemText)
    {
        var item = itemLatents[itemText];
        var dot = 0.0;
        for (var d = 0; d < rank; d++)
            dot += queryLatents[query][d] * item[d];
        var epsilon = itemIndex.TryGetValue(itemText, out var i) ? noise[query][i] : 0;
        return (float)(dot / Math.Sqrt(rank)) + epsilon;
    }

    public float Score(int query, int item) => Score(query, ItemText(item));

    /// <summary>R = S[queries, items], built without CE calls.</summary>
    public float[][] Rows(int fromQuery, int queryCount, int itemCount) =>
        [.. Enumerable.Range(fromQuery, queryCount).Select(a => Enumerable.Range(0, itemCount).Select(i => Score(a, i)).ToArray())];

    /// <summary>The exact top-k item indices of a query among the first <paramref name="itemCount"/> items.</summary>
    public int[] ExactTop(int query, int itemCount, int k) =>
        [.. Enumerable.Range(0, itemCount).OrderByDescending(i => Score(query, i)).ThenBy(i => i).Take(k)];

    public AnchorIndex Index(int anchorQueries, int itemCount, ScoreType storedAs = ScoreType.Float32, string modelHash = "synthetic-hash") =>
        new(new AnchorIndexInfo("synthetic", modelHash, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), storedAs),
            Queries(0, anchorQueries), Items(0, itemCount), Rows(0, anchorQueries, itemCount));

    public Task<float[]> ScoreAsync(string query, IReadOnlyList<string> items, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Add(ref calls, items.Count);
        var a = queryIndex[query];
        return Task.FromResult(items.Select(text => Score(a, text)).ToArray());
    }

    static double[] Gaussian(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))];
}

/// <summary>Passes calls through until <paramref name="allowedCalls"/> ScoreAsync calls have been made, then fails them.</summary>
sealed class FailingScorer(ICrossEncoderScorer inner, int allowedCalls) : ICrossEncoderScorer
{
    int made;

    public Task<float[]> ScoreAsync(string query, IReadOnlyList<string> items, CancellationToken cancellationToken) =>
        Interlocked.Increment(ref made) > allowedCalls
            ? throw new IOException("The model worker went away.")
            : inner.ScoreAsync(query, items, cancellationToken);
}
