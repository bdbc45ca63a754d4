using Service.Index;
using Service.Models.Text;

namespace Service.Api.Features.Indexes;

public enum IndexStatus { Queued, Loading, Building, Ready, Failed }

/// <summary>
/// A ready index and what serves it: the cross-encoder it was built with and, for de-rerank, the bi-encoder embeddings of its
/// items (null with the reason while they are computed after a reload, or when they could not be computed).
/// </summary>
public sealed record ServingIndex(AnchorIndex Index, CrossEncoderModel Model, ItemEmbeddings? Embeddings, string? EmbeddingsError);

/// <summary>An index's status as GET shows it; <see cref="Error"/> on a ready index is the last refused reload.</summary>
/// <param name="CallsResumed">Of <see cref="CallsDone"/>, the calls a failed or interrupted build of the same inputs had saved in its checkpoint.</param>
public sealed record IndexState(
    IndexStatus Status, string? Model, int Items, int Queries, ScoreType StoredAs, long CallsDone, long CallsTotal, string? JobId, string? Error,
    long CallsResumed = 0)
{
    public double Progress => CallsTotal == 0 ? (Status == IndexStatus.Ready ? 1 : 0) : (double)CallsDone / CallsTotal;
}

/// <summary>One named index: its file, its status and, once a model is known, the <see cref="AnchorIndexHost"/> that serves it.</summary>
public sealed class IndexEntry(string name, string path) : IProgress<AnchorIndexBuildProgress>
{
    IndexState state = new(IndexStatus.Loading, null, 0, 0, ScoreType.Float32, 0, 0, null, null);
    AnchorIndexHost? host;
    Embedded? embedded;

    readonly SemaphoreSlim writer = new(1, 1);

    public string Name { get; } = name;

    /// <summary>Loaded at start from Indexes:Files or the index directory: readiness waits for it (<see cref="IndexCatalog.NotReady"/>).</summary>
    public bool AtStart { get; init; }

    /// <summary>The index file: loaded at start, written by builds, rewritten after every insert and delete.</summary>
    public string Path { get; } = path;

    public IndexState State => Volatile.Read(ref state);

    /// <summary>Set once the index's cross-encoder is known; every later load goes through its <see cref="AnchorIndexHost.TryReplace"/>.</summary>
    internal AnchorIndexHost? Host => Volatile.Read(ref host);

    /// <summary>
    /// Waits for this index's writer turn: inserts, deletes and reloads run one at a time, so each ends with the file and the
    /// embeddings in step. Disposing the turn gives it back.
    /// </summary>
    internal async Task<WriterTurn> WriterTurnAsync(CancellationToken cancellationToken)
    {
        await writer.WaitAsync(cancellationToken);
        return new WriterTurn(writer);
    }

    internal readonly struct WriterTurn(SemaphoreSlim writer) : IDisposable
    {
        public void Dispose() => writer.Release();
    }

    /// <summary>The serving index, or null unless ready.</summary>
    internal ServingIndex? Serving()
    {
        if (State.Status != IndexStatus.Ready || Volatile.Read(ref embedded) is not { } served || Host?.Current is not { } current)
            return null;
        return ReferenceEquals(served.Index, current)
            ? new ServingIndex(current, served.Model, served.Embeddings, served.Error)
            : new ServingIndex(current, served.Model, null, "the items of the reloaded index are being embedded; retry shortly");
    }

    internal void Queue(IndexBuildJob job) => Set(new IndexState(IndexStatus.Queued, job.Model, job.Items.Length, job.AnchorQueries.Length,
        job.StoredAs, 0, (long)job.Items.Length * job.AnchorQueries.Length, job.Id, null));

    internal void Loading() => Set(State with { Status = IndexStatus.Loading });

    /// <summary>Build progress: CE calls done of k_q·N, resumed shards included.</summary>
    public void Report(AnchorIndexBuildProgress value) =>
        Set(State with { Status = IndexStatus.Building, CallsDone = value.CallsDone, CallsTotal = value.CallsTotal, CallsResumed = value.CallsResumed });

    internal void Serve(AnchorIndexHost serving, CrossEncoderModel model, ItemEmbeddings? embeddings, string? embeddingsError)
    {
        var index = serving.Current!;
        Volatile.Write(ref host, serving);
        Volatile.Write(ref embedded, new Embedded(index, model, embeddings, embeddingsError));
        Set(State with { Status = IndexStatus.Ready, CallsDone = State.CallsTotal, Error = null }); // size and model come from the index now
    }

    /// <summary>A load or build that failed; an index already serving keeps serving and only shows the error.</summary>
    internal void Fail(string error) => Set(State with { Status = Host?.Current is null ? IndexStatus.Failed : IndexStatus.Ready, Error = error });

    void Set(IndexState value) => Volatile.Write(ref state, value);

    /// <summary>The embeddings belong to one loaded index: after a reload they are recomputed before de-rerank uses them.</summary>
    sealed record Embedded(AnchorIndex Index, CrossEncoderModel Model, ItemEmbeddings? Embeddings, string? Error);
}
