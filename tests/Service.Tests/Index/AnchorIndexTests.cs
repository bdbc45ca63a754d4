using Service.Index;

namespace Service.Tests.Index;

public sealed class AnchorIndexTests
{
    const int AnchorQueries = 10, ItemCount = 200, QueryCount = 30;

    readonly SyntheticScorer scorer = new(QueryCount, ItemCount + 20, rank: 6, noise: 0, seed: 21);

    [Fact]
    public async Task An_inserted_item_costs_k_q_calls_and_is_found_by_search()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);
        var search = new AnnCurSearch(index, scorer);
        var options = new AnnCurOptions { K = 3, AnchorItems = 8, Rerank = 12, Seed = 2 };
        const int query = 25;
        await search.SearchAsync(SyntheticScorer.QueryText(query), options, CancellationToken.None); // caches U and E before the insert

        // An item along the query's latent direction, three times as long as a typical item: the query's clear top-1.
        scorer.AddItem("new item", [.. scorer.QueryLatent(query).Select(x => 3 * x)]);
        var before = scorer.Calls;
        var calls = await index.InsertAsync([new IndexItem("new", "new item"), SyntheticScorer.Item(ItemCount)], scorer, CancellationToken.None);

        Assert.Equal(2 * AnchorQueries, calls);
        Assert.Equal(2 * AnchorQueries, scorer.Calls - before);
        Assert.Equal(ItemCount + 2, index.LiveCount);
        var result = await search.SearchAsync(SyntheticScorer.QueryText(query), options, CancellationToken.None);
        Assert.Equal("new", result.Items[0].Id);
        Assert.Equal(scorer.Score(query, "new item"), result.Items[0].Score);
    }

    [Fact]
    public async Task Inserting_extends_a_cached_E_to_what_a_fresh_anchor_set_computes()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);
        var (_, cached) = index.AcquireAnchors(8, seed: 4);

        await index.InsertAsync(SyntheticScorer.Items(ItemCount, 20), scorer, CancellationToken.None);

        var (snapshot, after) = index.AcquireAnchors(8, seed: 4);
        Assert.Same(cached, after);
        Assert.Equal(ItemCount + 20, after.ItemCount);
        var fresh = new CurApproximator(snapshot.Scores, cached.Anchors.ToArray(), index.RelativeCutoff(8));
        for (var j = 0; j < 8; j++)
            for (var item = ItemCount; item < ItemCount + 20; item++)
                Assert.Equal(fresh.Embeddings[j, item], after.Embeddings[j, item], 1e-5f);
    }

    [Fact]
    public async Task Inserting_an_id_already_present_is_refused_before_any_call()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);

        await Assert.ThrowsAsync<ArgumentException>(() => index.InsertAsync([SyntheticScorer.Item(5)], scorer, CancellationToken.None));
        Assert.Equal(0, scorer.Calls);
    }

    [Fact]
    public async Task A_deleted_item_is_never_returned()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);
        var search = new AnnCurSearch(index, scorer);
        var options = new AnnCurOptions { K = 5, AnchorItems = 8, Rerank = 12, Seed = 2 };
        const int query = 20;
        var best = scorer.ExactTop(query, ItemCount, 1)[0];
        var first = await search.SearchAsync(SyntheticScorer.QueryText(query), options, CancellationToken.None);
        Assert.Equal(SyntheticScorer.ItemId(best), first.Items[0].Id);

        Assert.True(index.Delete(SyntheticScorer.ItemId(best)));

        var second = await search.SearchAsync(SyntheticScorer.QueryText(query), options, CancellationToken.None);
        Assert.DoesNotContain(second.Items, item => item.Id == SyntheticScorer.ItemId(best));
        Assert.Equal(first.Items.Skip(1).Select(item => item.Id), second.Items.Take(4).Select(item => item.Id));
        Assert.False(index.Contains(SyntheticScorer.ItemId(best)));
        Assert.Equal(ItemCount - 1, index.LiveCount);
        Assert.False(index.Delete(SyntheticScorer.ItemId(best)));
    }

    [Fact]
    public void Deleting_an_anchor_item_drops_its_U_and_the_next_draw_avoids_it()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);
        var (_, approximator) = index.AcquireAnchors(8, seed: 9);
        var anchor = approximator.Anchors[3];

        Assert.True(index.Delete(SyntheticScorer.ItemId(anchor)));

        Assert.False(index.HasCachedAnchors(8, seed: 9));
        var (_, redrawn) = index.AcquireAnchors(8, seed: 9);
        Assert.NotSame(approximator, redrawn);
        Assert.DoesNotContain(anchor, redrawn.Anchors);
    }

    [Fact]
    public void Deleting_a_non_anchor_item_keeps_the_cached_U()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);
        var (_, approximator) = index.AcquireAnchors(8, seed: 9);
        var other = Enumerable.Range(0, ItemCount).First(item => !approximator.Anchors.Contains(item));

        Assert.True(index.Delete(SyntheticScorer.ItemId(other)));

        Assert.Same(approximator, index.AcquireAnchors(8, seed: 9).Approximator);
    }

    [Fact]
    public async Task A_snapshot_does_not_see_later_inserts()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);
        var snapshot = index.Snapshot();

        await index.InsertAsync(SyntheticScorer.Items(ItemCount, 20), scorer, CancellationToken.None);

        Assert.Equal(ItemCount, snapshot.Count);
        Assert.Equal(ItemCount, snapshot.Scores.Columns);
        Assert.Equal(ItemCount + 20, index.Snapshot().Count);
        Assert.Equal(SyntheticScorer.ItemId(ItemCount + 19), index.Snapshot().Id(ItemCount + 19));
    }

    [Fact]
    public async Task Searches_during_inserts_and_deletes_keep_working()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);
        var search = new AnnCurSearch(index, scorer);
        var options = new AnnCurOptions { K = 5, AnchorItems = 8, Rerank = 12, Rounds = 2, Seed = 3 };

        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await index.InsertAsync([SyntheticScorer.Item(ItemCount + i)], scorer, CancellationToken.None);
                Assert.True(index.Delete(SyntheticScorer.ItemId(i)));
            }
        });
        var readers = Enumerable.Range(0, 3).Select(reader => Task.Run(async () =>
        {
            for (var j = 0; j < 20; j++)
            {
                var result = await search.SearchAsync(SyntheticScorer.QueryText(AnchorQueries + j % 20), options, CancellationToken.None);
                Assert.Equal(5, result.Items.Count);
                Assert.True(result.CrossEncoderCalls <= options.Budget);
            }
        }));
        await Task.WhenAll([writer, .. readers]);

        Assert.Equal(ItemCount, index.LiveCount);
        Assert.Equal(ItemCount + 20, index.Snapshot().Count);
    }

    [Fact]
    public void A_float16_index_holds_its_scores_rounded_to_half()
    {
        var index = scorer.Index(AnchorQueries, ItemCount, ScoreType.Float16);
        var row = index.Snapshot().Scores.Row(0);

        for (var item = 0; item < ItemCount; item++)
            Assert.Equal((float)(Half)scorer.Score(0, item), row[item]);
    }
}
