using Service.Index;

namespace Service.Tests.Index;

public sealed class BaselineSearchTests
{
    const int AnchorQueries = 6, ItemCount = 50, Query = AnchorQueries; // the query is not an anchor query

    readonly SyntheticScorer scorer = new(AnchorQueries + 1, ItemCount, rank: 4, noise: 0.1, seed: 21);

    [Fact]
    public async Task Exhaustive_search_scores_every_live_item_once_and_returns_the_exact_top_k()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);
        var exact = scorer.ExactTop(Query, ItemCount, 6);
        index.Delete(SyntheticScorer.ItemId(exact[0]));
        var before = scorer.Calls;

        var result = await BaselineSearch.ExhaustiveAsync(index, scorer, SyntheticScorer.QueryText(Query), 5, CancellationToken.None);

        Assert.Equal(ItemCount - 1, scorer.Calls - before);
        Assert.Equal(ItemCount - 1, result.CrossEncoderCalls);
        Assert.Equal(exact.Skip(1).Select(SyntheticScorer.ItemId), result.Items.Select(item => item.Id));
        Assert.All(result.Items, item => Assert.Equal(scorer.Score(Query, item.Text), item.Score));
    }

    [Fact]
    public async Task Retrieve_and_rerank_scores_the_budget_nearest_live_items_and_ranks_them_exactly()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);
        var embedder = new AngleEmbedder();
        var embeddings = await ItemEmbeddings.ComputeAsync(index.Snapshot(), embedder, CancellationToken.None);
        index.Delete(SyntheticScorer.ItemId(0)); // the nearest item
        var before = scorer.Calls;

        var result = await BaselineSearch.RetrieveAndRerankAsync(
            index, embeddings, embedder, scorer, SyntheticScorer.QueryText(Query), 4, 10, CancellationToken.None);

        var shortlist = Enumerable.Range(1, 10).ToArray(); // by cosine: items 1..10 once item 0 is gone
        Assert.Equal(10, scorer.Calls - before);
        Assert.Equal(10, result.CrossEncoderCalls);
        var expected = shortlist.OrderByDescending(i => scorer.Score(Query, i)).ThenBy(i => i).Take(4).Select(SyntheticScorer.ItemId);
        Assert.Equal(expected, result.Items.Select(item => item.Id));
    }

    [Fact]
    public void Item_embeddings_append_columns_and_shortlist_only_what_both_the_snapshot_and_they_hold()
    {
        var index = scorer.Index(AnchorQueries, 3);
        var embeddings = new ItemEmbeddings(2);
        embeddings.Append([[0f, 1f], [1f, 0f]]);

        var shortlist = embeddings.Shortlist([1f, 0f], index.Snapshot(), 3);

        Assert.Equal(2, embeddings.Count);
        Assert.Equal([1, 0], shortlist); // item 2 has no embedding yet
        Assert.Throws<ArgumentException>(() => embeddings.Append([[1f, 0f, 0f]]));
    }

    /// <summary>A bi-encoder whose item i lies at angle iπ/N from every query: cosine falls with i, so the shortlist is known.</summary>
    sealed class AngleEmbedder : ITextEmbedder
    {
        public int Dimensions => 2;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
            Task.FromResult(texts.Select(text => text.StartsWith("item ", StringComparison.Ordinal) ? Unit(int.Parse(text[5..]) * MathF.PI / ItemCount) : Unit(0)).ToArray());

        static float[] Unit(float angle) => [MathF.Cos(angle), MathF.Sin(angle)];
    }
}
