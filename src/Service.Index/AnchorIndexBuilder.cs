using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Service.Index;

/// <summary>What to build: the scorer's identity, the k_q anchor queries, the N items and the storage type of R.</summary>
public sealed record AnchorIndexBuildRequest(
    string ModelId,
    string ModelHash,
    IReadOnlyList<string> AnchorQueries,
    IReadOnlyList<IndexItem> Items,
    ScoreType StoredAs = ScoreType.Float32);

/// <summary>Items whose k_q scores are all done (resumed ones included).</summary>
/// <param name="ItemsResumed">Of <paramref name="ItemsDone"/>, those the checkpoint already held when this build started.</param>
public sealed record AnchorIndexBuildProgress(int ItemsDone, int ItemCount, int QueryCount, int ItemsResumed = 0)
{
    public long CallsDone => (long)ItemsDone * QueryCount;

    public long CallsResumed => (long)ItemsResumed * QueryCount;

    public long CallsTotal => (long)ItemCount * QueryCount;
}

/// <summary>
/// Offline build of an index: R = CE(anchor queries × items) [k_q × N], k_q·N CE calls, shard by shard of items. Each finished
/// shard is appended to a checkpoint file (<c>{output}.partial</c>), so a build that stopped (crash, cancellation, scorer
/// failure) continues from its last finished shard when run again with the same inputs; the result is then the same R.
/// </summary>
/// <remarks>
/// <para>The checkpoint unit is a shard of items with all k_q of its scores, not a row of R: a row is N calls, hours for
/// N = 10⁶ on a CPU, while a shard is k_q scorer calls of <see cref="ShardSize"/> items each, which the scorer batches.</para>
/// <para>Shards run one after another. The cross-encoder's batching worker runs one batch at a time, so concurrent shards would
/// only queue behind it; parallelism belongs inside the scorer.</para>
/// <para>Checkpoint layout (little-endian): magic "ANNCURPB" (8), version 1 (u32), shard size (i32), k_q (i32), N (i32),
/// fingerprint (32: SHA-256 over the model hash, anchor queries, item ids and texts), shards done (u32), 4 zero bytes; then,
/// per finished shard in order, its scores [k_q × shard length] as float32, row-major. The count is rewritten only after the
/// shard's block is flushed to disk, so bytes past the counted shards are an interrupted write and are cut off on resume.
/// A checkpoint of other inputs or with a damaged header is discarded and the build starts over.</para>
/// </remarks>
public sealed class AnchorIndexBuilder(ICrossEncoderScorer scorer)
{
    public int ShardSize { get; init; } = 256;

    /// <summary>Builds R, writes the index file to <paramref name="outputPath"/> atomically and removes the checkpoint.</summary>
    public async Task<AnchorIndex> BuildAsync(
        AnchorIndexBuildRequest request,
        string outputPath,
        IProgress<AnchorIndexBuildProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(ShardSize, 1);
        var queries = request.AnchorQueries;
        var items = request.Items;
        if (queries.Count == 0)
            throw new ArgumentException("An index needs at least one anchor query.", nameof(request));

        var rows = new float[queries.Count][]; // R [k_q × N]
        for (var t = 0; t < rows.Length; t++)
            rows[t] = new float[items.Count];
        var partialPath = outputPath + ".partial";
        var shardCount = (items.Count + ShardSize - 1) / ShardSize;

        using (var checkpoint = Checkpoint.OpenOrCreate(partialPath, Fingerprint(request), ShardSize, rows))
        {
            var resumed = Math.Min(checkpoint.ShardsDone * ShardSize, items.Count);
            progress?.Report(new(resumed, items.Count, queries.Count, resumed));
            for (var shard = checkpoint.ShardsDone; shard < shardCount; shard++)
            {
                var start = shard * ShardSize;
                var length = Math.Min(ShardSize, items.Count - start);
                var texts = Enumerable.Range(start, length).Select(i => items[i].Text).ToArray();
                var block = new float[queries.Count * length]; // R[:, shard] [k_q × length]
                for (var t = 0; t < queries.Count; t++)
                {
                    var scores = await scorer.ScoreAsync(queries[t], texts, cancellationToken).ConfigureAwait(false);
                    if (scores.Length != length)
                        throw new InvalidOperationException($"The scorer returned {scores.Length} scores for {length} items.");
                    scores.CopyTo(rows[t].AsSpan(start));
                    scores.CopyTo(block.AsSpan(t * length));
                }
                checkpoint.Append(block);
                progress?.Report(new(start + length, items.Count, queries.Count, resumed));
            }
        }

        var created = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()); // the file's resolution
        var info = new AnchorIndexInfo(request.ModelId, request.ModelHash, created, request.StoredAs);
        var index = new AnchorIndex(info, queries, items, rows);
        AnchorIndexFile.Save(index, outputPath);
        File.Delete(partialPath);
        return index;
    }

    static byte[] Fingerprint(AnchorIndexBuildRequest request)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var length = new byte[sizeof(int)];
        void Add(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length); // the prefix keeps ("ab", "c") apart from ("a", "bc")
            hash.AppendData(length);
            hash.AppendData(bytes);
        }
        Add(request.ModelHash);
        foreach (var query in request.AnchorQueries)
            Add(query);
        foreach (var item in request.Items)
        {
            Add(item.Id);
            Add(item.Text);
        }
        return hash.GetHashAndReset();
    }

    sealed class Checkpoint : IDisposable
    {
        const int HeaderSize = 64;
        const uint Version = 1;
        const int ShardsDoneOffset = 56;
        static ReadOnlySpan<byte> Magic => "ANNCURPB"u8;

        readonly FileStream stream;
        readonly int shardSize;
        readonly int queryCount;
        readonly int itemCount;

        Checkpoint(FileStream stream, int shardSize, int queryCount, int itemCount, int shardsDone)
        {
            this.stream = stream;
            this.shardSize = shardSize;
            this.queryCount = queryCount;
            this.itemCount = itemCount;
            ShardsDone = shardsDone;
        }

        public int ShardsDone { get; private set; }

        /// <summary>Resumes a matching checkpoint, filling <paramref name="rows"/> with its shards, or starts a new one.</summary>
        public static Checkpoint OpenOrCreate(string path, byte[] fingerprint, int shardSize, float[][] rows)
        {
            var queryCount = rows.Length;
            var itemCount = rows[0].Length;
            var header = new byte[HeaderSize];
            Magic.CopyTo(header);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), Version);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), shardSize);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), queryCount);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(20), itemCount);
            fingerprint.CopyTo(header, 24);

            if (File.Exists(path))
            {
                var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                var stored = new byte[HeaderSize];
                var done = stream.ReadAtLeast(stored, HeaderSize, throwOnEndOfStream: false) == HeaderSize
                    && stored.AsSpan(0, ShardsDoneOffset).SequenceEqual(header.AsSpan(0, ShardsDoneOffset))
                    ? BinaryPrimitives.ReadInt32LittleEndian(stored.AsSpan(ShardsDoneOffset)) : -1;
                var shardCount = (itemCount + shardSize - 1) / shardSize;
                var dataBytes = Math.Min((long)done * shardSize, itemCount) * queryCount * sizeof(float);
                if (done >= 0 && done <= shardCount && stream.Length >= HeaderSize + dataBytes)
                {
                    for (var shard = 0; shard < done; shard++)
                    {
                        var start = shard * shardSize;
                        var length = Math.Min(shardSize, itemCount - start);
                        var block = new float[queryCount * length];
                        stream.ReadExactly(MemoryMarshal.AsBytes(block.AsSpan()));
                        for (var t = 0; t < queryCount; t++)
                            block.AsSpan(t * length, length).CopyTo(rows[t].AsSpan(start));
                    }
                    stream.SetLength(HeaderSize + dataBytes); // drops a shard whose write was interrupted
                    return new Checkpoint(stream, shardSize, queryCount, itemCount, done);
                }
                stream.Dispose();
            }

            var created = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
            created.Write(header);
            created.Flush(flushToDisk: true);
            return new Checkpoint(created, shardSize, queryCount, itemCount, 0);
        }

        /// <summary>Appends the next shard's block, flushes it, then counts it.</summary>
        public void Append(ReadOnlySpan<float> block)
        {
            var expected = queryCount * Math.Min(shardSize, itemCount - ShardsDone * shardSize);
            if (expected <= 0 || block.Length != expected)
                throw new InvalidOperationException($"Shard {ShardsDone} needs {expected} scores; the block has {block.Length}.");
            stream.Seek(0, SeekOrigin.End);
            stream.Write(MemoryMarshal.AsBytes(block));
            stream.Flush(flushToDisk: true);

            Span<byte> count = stackalloc byte[sizeof(int)];
            BinaryPrimitives.WriteInt32LittleEndian(count, ++ShardsDone);
            stream.Seek(ShardsDoneOffset, SeekOrigin.Begin);
            stream.Write(count);
            stream.Flush(flushToDisk: true);
        }

        public void Dispose() => stream.Dispose();
    }
}
