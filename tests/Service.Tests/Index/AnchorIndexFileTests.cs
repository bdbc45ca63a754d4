using Service.Index;

namespace Service.Tests.Index;

public sealed class AnchorIndexFileTests : IDisposable
{
    const int AnchorQueries = 6, ItemCount = 50;

    readonly string directory = Directory.CreateTempSubdirectory("anchor-index-").FullName;
    readonly SyntheticScorer scorer = new(AnchorQueries, ItemCount, rank: 4, noise: 0.3, seed: 8);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    string PathOf(string name) => Path.Combine(directory, name);

    [Fact]
    public void A_float32_index_round_trips_exactly()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);
        var path = PathOf("a.idx");

        AnchorIndexFile.Save(index, path);
        var loaded = AnchorIndexFile.Load(path, "synthetic-hash");

        Assert.Equal(index.Info, loaded.Info);
        Assert.Equal(index.AnchorQueries, loaded.AnchorQueries);
        AssertSameContent(index, loaded);
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(directory).Select(Path.GetFileName)); // no temporary left
    }

    [Fact]
    public void A_float16_index_round_trips_within_half_precision_and_reloads_bit_for_bit()
    {
        var index = scorer.Index(AnchorQueries, ItemCount, ScoreType.Float16);
        var path = PathOf("half.idx");

        AnchorIndexFile.Save(index, path);
        var loaded = AnchorIndexFile.Load(path, "synthetic-hash");

        Assert.Equal(ScoreType.Float16, loaded.Info.StoredAs);
        AssertSameContent(index, loaded);
        var scores = loaded.Snapshot().Scores;
        for (var t = 0; t < AnchorQueries; t++)
            for (var item = 0; item < ItemCount; item++)
            {
                var exact = scorer.Score(t, item);
                Assert.True(Math.Abs(scores[t, item] - exact) <= Math.Abs(exact) * Math.ScaleB(1, -11) + 1e-7, $"R[{t}, {item}] = {scores[t, item]} for {exact}");
            }
        Assert.Equal(HeaderAndTextBytes(path) + AnchorQueries * ItemCount * 2 + AnchorIndexFile.ChecksumSize, new FileInfo(path).Length);
    }

    [Fact]
    public void Saving_compacts_deleted_items_away()
    {
        var index = scorer.Index(AnchorQueries, ItemCount);
        index.Delete(SyntheticScorer.ItemId(0));
        index.Delete(SyntheticScorer.ItemId(17));
        var path = PathOf("compact.idx");

        AnchorIndexFile.Save(index, path);
        var loaded = AnchorIndexFile.Load(path, "synthetic-hash").Snapshot();

        Assert.Equal(ItemCount - 2, loaded.Count);
        Assert.Equal(SyntheticScorer.ItemId(1), loaded.Id(0));
        Assert.Equal(SyntheticScorer.ItemId(18), loaded.Id(16));
        Assert.Equal(scorer.Score(3, 18), loaded.Scores[3, 16]);
    }

    [Theory]
    [InlineData(0.3)] // in the strings
    [InlineData(0.9)] // in R
    public void A_flipped_byte_is_refused_by_the_checksum(double at)
    {
        var path = Saved("corrupt.idx");
        var bytes = File.ReadAllBytes(path);
        var offset = AnchorIndexFile.HeaderSize + (int)(at * (bytes.Length - AnchorIndexFile.HeaderSize - AnchorIndexFile.ChecksumSize));
        bytes[offset] ^= 0x10;
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<AnchorIndexFormatException>(() => AnchorIndexFile.Load(path, "synthetic-hash"));

        Assert.Equal(AnchorIndexFileError.ChecksumMismatch, error.Error);
        Assert.Contains("corrupt", error.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    public void A_truncated_file_is_refused(int missing)
    {
        var path = Saved("truncated.idx");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^missing]);

        Assert.Equal(AnchorIndexFileError.Truncated, Assert.Throws<AnchorIndexFormatException>(() => AnchorIndexFile.Load(path, "synthetic-hash")).Error);
    }

    [Fact]
    public void A_file_cut_inside_the_header_is_refused()
    {
        var path = Saved("stub.idx");
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..20]);

        Assert.Equal(AnchorIndexFileError.Truncated, Assert.Throws<AnchorIndexFormatException>(() => AnchorIndexFile.Load(path, null)).Error);
    }

    [Fact]
    public void Bytes_after_the_checksum_are_refused()
    {
        var path = Saved("long.idx");
        File.AppendAllText(path, "x");

        Assert.Equal(AnchorIndexFileError.TrailingData, Assert.Throws<AnchorIndexFormatException>(() => AnchorIndexFile.Load(path, null)).Error);
    }

    [Fact]
    public void Wrong_magic_and_wrong_version_are_refused()
    {
        var path = Saved("magic.idx");
        var bytes = File.ReadAllBytes(path);
        bytes[0] = (byte)'X';
        File.WriteAllBytes(path, bytes);
        Assert.Equal(AnchorIndexFileError.NotAnIndex, Assert.Throws<AnchorIndexFormatException>(() => AnchorIndexFile.Load(path, null)).Error);

        bytes[0] = (byte)'A';
        bytes[8] = 2;
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<AnchorIndexFormatException>(() => AnchorIndexFile.Load(path, null));
        Assert.Equal(AnchorIndexFileError.UnsupportedVersion, error.Error);
        Assert.Contains("version 2", error.Message);
    }

    [Fact]
    public void Another_models_index_is_refused_and_the_host_keeps_serving_the_old_one()
    {
        var host = new AnchorIndexHost("synthetic-hash");
        var good = Saved("good.idx");
        Assert.True(host.TryReplace(good, out var none), none?.Message);
        var serving = host.Current;

        var foreign = PathOf("foreign.idx");
        AnchorIndexFile.Save(scorer.Index(AnchorQueries, ItemCount, modelHash: "other-model"), foreign);

        Assert.False(host.TryReplace(foreign, out var error));
        Assert.Equal(AnchorIndexFileError.ModelMismatch, Assert.IsType<AnchorIndexFormatException>(error).Error);
        Assert.Contains("other-model", error.Message);
        Assert.Same(serving, host.Current);
    }

    [Fact]
    public void The_host_keeps_the_old_index_when_the_new_file_is_corrupt_or_missing()
    {
        var host = new AnchorIndexHost("synthetic-hash");
        Assert.True(host.TryReplace(Saved("good.idx"), out _));
        var serving = host.Current;
        var corrupt = Saved("corrupt.idx");
        var bytes = File.ReadAllBytes(corrupt);
        bytes[^40] ^= 1;
        File.WriteAllBytes(corrupt, bytes);

        Assert.False(host.TryReplace(corrupt, out var checksum));
        Assert.IsType<AnchorIndexFormatException>(checksum);
        Assert.False(host.TryReplace(PathOf("missing.idx"), out var missing));
        Assert.IsType<FileNotFoundException>(missing);
        Assert.Same(serving, host.Current);
    }

    [Fact]
    public void Saving_over_an_existing_file_replaces_it_whole()
    {
        var path = Saved("same.idx");
        var index = scorer.Index(AnchorQueries, ItemCount);
        index.Delete(SyntheticScorer.ItemId(3));

        AnchorIndexFile.Save(index, path);

        Assert.Equal(ItemCount - 1, AnchorIndexFile.Load(path, null).LiveCount);
        Assert.Single(Directory.GetFiles(directory));
    }

    string Saved(string name)
    {
        var path = PathOf(name);
        AnchorIndexFile.Save(scorer.Index(AnchorQueries, ItemCount), path);
        return path;
    }

    /// <summary>Header, strings and padding: the offset of R, as the header records it.</summary>
    static long HeaderAndTextBytes(string path) => BitConverter.ToInt64(File.ReadAllBytes(path), 40);

    static void AssertSameContent(AnchorIndex expected, AnchorIndex actual)
    {
        var (a, b) = (expected.Snapshot(), actual.Snapshot());
        Assert.Equal(a.Count, b.Count);
        for (var item = 0; item < a.Count; item++)
        {
            Assert.Equal(a.Id(item), b.Id(item));
            Assert.Equal(a.Text(item), b.Text(item));
        }
        for (var t = 0; t < expected.QueryCount; t++)
            Assert.True(a.Scores.Row(t).SequenceEqual(b.Scores.Row(t)), $"row {t} differs");
    }
}
