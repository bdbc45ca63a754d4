using Service.Index;

namespace Service.Tests.Index;

public sealed class AnchorIndexBuilderTests : IDisposable
{
    const int AnchorQueries = 5, ItemCount = 100, ShardSize = 16; // 7 shards, the last of 4 items

    readonly string directory = Directory.CreateTempSubdirectory("anchor-build-").FullName;
    readonly SyntheticScorer scorer = new(AnchorQueries, ItemCount, rank: 4, noise: 0.3, seed: 12);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    AnchorIndexBuildRequest Request(int itemCount = ItemCount) =>
        new("synthetic", "synthetic-hash", SyntheticScorer.Queries(0, AnchorQueries), SyntheticScorer.Items(0, itemCount));

    [Fact]
    public async Task A_build_scores_every_pair_once_and_writes_a_loadable_file()
    {
        var path = Path.Combine(directory, "full.idx");
        var reports = new List<AnchorIndexBuildProgress>();

        var index = await new AnchorIndexBuilder(scorer) { ShardSize = ShardSize }.BuildAsync(Request(), path, new SyncProgress(reports), CancellationToken.None);

        Assert.Equal(AnchorQueries * ItemCount, scorer.Calls);
        AssertScoresAre(scorer.Rows(0, AnchorQueries, ItemCount), index);
        AssertScoresAre(scorer.Rows(0, AnchorQueries, ItemCount), AnchorIndexFile.Load(path, "synthetic-hash"));
        Assert.Equal([0, 16, 32, 48, 64, 80, 96, 100], reports.Select(report => report.ItemsDone));
        Assert.Equal(AnchorQueries * ItemCount, reports[^1].CallsTotal);
        Assert.All(reports, report => Assert.Equal(0, report.ItemsResumed));
        Assert.False(File.Exists(path + ".partial"));
    }

    [Fact]
    public async Task An_interrupted_build_resumes_from_its_checkpoint_and_gives_the_same_R()
    {
        var path = Path.Combine(directory, "resumed.idx");
        var failing = new FailingScorer(scorer, allowedCalls: 3 * AnchorQueries + 2); // dies inside the fourth shard

        await Assert.ThrowsAsync<IOException>(() =>
            new AnchorIndexBuilder(failing) { ShardSize = ShardSize }.BuildAsync(Request(), path, null, CancellationToken.None));
        Assert.True(File.Exists(path + ".partial"));
        Assert.False(File.Exists(path));

        var resumedScorer = new SyntheticScorer(AnchorQueries, ItemCount, rank: 4, noise: 0.3, seed: 12);
        var reports = new List<AnchorIndexBuildProgress>();
        var index = await new AnchorIndexBuilder(resumedScorer) { ShardSize = ShardSize }.BuildAsync(Request(), path, new SyncProgress(reports), CancellationToken.None);

        Assert.Equal(AnchorQueries * (ItemCount - 3 * ShardSize), resumedScorer.Calls);
        Assert.Equal(3 * ShardSize, reports[0].ItemsDone);
        Assert.All(reports, report => Assert.Equal(AnchorQueries * 3 * ShardSize, report.CallsResumed));
        AssertScoresAre(scorer.Rows(0, AnchorQueries, ItemCount), index);
        AssertScoresAre(scorer.Rows(0, AnchorQueries, ItemCount), AnchorIndexFile.Load(path, "synthetic-hash"));
        Assert.False(File.Exists(path + ".partial"));
    }

    [Fact]
    public async Task A_half_written_shard_after_the_last_counted_one_is_discarded()
    {
        var path = Path.Combine(directory, "torn.idx");
        await Assert.ThrowsAsync<IOException>(() =>
            new AnchorIndexBuilder(new FailingScorer(scorer, 2 * AnchorQueries)) { ShardSize = ShardSize }.BuildAsync(Request(), path, null, CancellationToken.None));
        File.AppendAllText(path + ".partial", "a torn write");

        var resumedScorer = new SyntheticScorer(AnchorQueries, ItemCount, rank: 4, noise: 0.3, seed: 12);
        var index = await new AnchorIndexBuilder(resumedScorer) { ShardSize = ShardSize }.BuildAsync(Request(), path, null, CancellationToken.None);

        Assert.Equal(AnchorQueries * (ItemCount - 2 * ShardSize), resumedScorer.Calls);
        AssertScoresAre(scorer.Rows(0, AnchorQueries, ItemCount), index);
    }

    [Fact]
    public async Task A_checkpoint_of_other_inputs_is_discarded()
    {
        var path = Path.Combine(directory, "changed.idx");
        await Assert.ThrowsAsync<IOException>(() =>
            new AnchorIndexBuilder(new FailingScorer(scorer, 2 * AnchorQueries)) { ShardSize = ShardSize }.BuildAsync(Request(ItemCount - 1), path, null, CancellationToken.None));

        var freshScorer = new SyntheticScorer(AnchorQueries, ItemCount, rank: 4, noise: 0.3, seed: 12);
        var index = await new AnchorIndexBuilder(freshScorer) { ShardSize = ShardSize }.BuildAsync(Request(), path, null, CancellationToken.None);

        Assert.Equal(AnchorQueries * ItemCount, freshScorer.Calls);
        AssertScoresAre(scorer.Rows(0, AnchorQueries, ItemCount), index);
    }

    static void AssertScoresAre(float[][] expected, AnchorIndex index)
    {
        var scores = index.Snapshot().Scores;
        Assert.Equal(expected[0].Length, scores.Columns);
        for (var t = 0; t < expected.Length; t++)
            Assert.True(scores.Row(t).SequenceEqual(expected[t]), $"row {t} differs");
    }

    /// <summary>Records reports on the calling thread (Progress&lt;T&gt; would post them to the thread pool).</summary>
    sealed class SyncProgress(List<AnchorIndexBuildProgress> reports) : IProgress<AnchorIndexBuildProgress>
    {
        public void Report(AnchorIndexBuildProgress value) => reports.Add(value);
    }
}
