using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Index;
using Service.Models.Errors;
using Service.Models.Registry;
using Service.Models.Text;

namespace Service.Api.Features.Indexes;

public enum IndexStatus { Queued, Loading, Building, Ready, Failed }

/// <summary>
/// A build as accepted. It is kept as JSON beside the index file (<c>{name}.build.json</c>) until the build ends, so a build
/// stopped by a shutdown is queued again at the next start and resumes from its shard checkpoint.
/// </summary>
public sealed record IndexBuildJob(string Id, string Name, string Model, IndexItem[] Items, string[] AnchorQueries, ScoreType StoredAs);

/// <summary>
/// A ready index and what serves it: the cross-encoder it was built with and, for de-rerank, the bi-encoder embeddings of its
/// items (null with the reason while they are computed after a reload, or when they could not be computed).
/// </summary>
public sealed record ServingIndex(AnchorIndex Index, RerankModel Model, ItemEmbeddings? Embeddings, string? EmbeddingsError);

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

    public string Name { get; } = name;

    /// <summary>Loaded at start from Indexes:Files or the index directory: readiness waits for it (<see cref="IndexCatalog.NotReady"/>).</summary>
    public bool AtStart { get; init; }

    /// <summary>The index file: loaded at start, written by builds, rewritten after every insert and delete.</summary>
    public string Path { get; } = path;

    public IndexState State => Volatile.Read(ref state);

    /// <summary>Set once the index's cross-encoder is known; every later load goes through its <see cref="AnchorIndexHost.TryReplace"/>.</summary>
    internal AnchorIndexHost? Host => Volatile.Read(ref host);

    /// <summary>Inserts, deletes and reloads of this index, one at a time: each ends with the file and the embeddings in step.</summary>
    internal SemaphoreSlim Writer { get; } = new(1, 1);

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

    internal void Serve(AnchorIndexHost serving, RerankModel model, ItemEmbeddings? embeddings, string? embeddingsError)
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
    sealed record Embedded(AnchorIndex Index, RerankModel Model, ItemEmbeddings? Embeddings, string? Error);
}

/// <summary>
/// The named ANNCUR indexes of this service: loaded from files at start, built by background jobs (<see cref="IndexWorker"/>),
/// changed by inserts and deletes that are saved to the index's file. A ready index serves searches with the cross-encoder
/// it was built with, through that model's batching worker.
/// </summary>
public sealed class IndexCatalog(
    ModelRegistry registry, TextGateway gateway, IOptions<IndexesOptions> options, IHostEnvironment environment, ILogger<IndexCatalog> logger)
{
    const string JobSuffix = ".build.json";

    /// <summary>A build is no request: when the model's queue is full it waits this long and retries instead of failing.</summary>
    static readonly TimeSpan OverloadedRetry = TimeSpan.FromMilliseconds(250);

    static readonly JsonSerializerOptions JobJson = new() { RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true };

    readonly Lock gate = new(); // adding and replacing entries
    readonly ConcurrentDictionary<string, IndexEntry> entries = new(StringComparer.Ordinal);
    readonly Channel<IndexBuildJob> jobs = Channel.CreateUnbounded<IndexBuildJob>(new UnboundedChannelOptions { SingleReader = true });
    volatile bool filesListed;

    /// <summary>Indexes:Directory resolved against the content root.</summary>
    public string Directory { get; } = options.Value.ResolvedDirectory(environment.ContentRootPath);

    internal ChannelReader<IndexBuildJob> Jobs => jobs.Reader;

    public IReadOnlyList<IndexEntry> List() => [.. entries.Values.OrderBy(entry => entry.Name, StringComparer.Ordinal)];

    public IndexEntry Get(string name) => entries.TryGetValue(name, out var entry)
        ? entry
        : throw new ServiceException(ServiceErrorKind.NotFound,
            $"No index '{name}'. GET /v1/indexes lists the indexes; POST /v1/indexes builds one.",
            new Dictionary<string, object?> { ["index"] = name });

    /// <summary>
    /// What keeps the service from being ready for searches: the index files it loads at start, until each is ready, or
    /// failed while not marked optional (Indexes:Optional). Empty when ready. Indexes built later through the admin
    /// routes never count: a build is no reason to take a pod out of its Service.
    /// </summary>
    public IReadOnlyList<string> NotReady()
    {
        if (!filesListed)
            return ["index files (not listed yet)"];
        return [.. entries.Values.Where(e => e.AtStart)
            .Where(e => e.State.Status switch
            {
                IndexStatus.Ready => false,
                IndexStatus.Failed => !options.Value.Optional.Contains(e.Name, StringComparer.Ordinal),
                _ => true,
            })
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .Select(e => $"index {e.Name} ({Describe(e.State.Status)}{(e.State.Error is { } error ? $": {error}" : "")})")];
    }

    /// <summary>The ready index <paramref name="name"/>: 404 when there is none; 503 while queued, loading or building, or after it failed.</summary>
    public ServingIndex Serving(string name) => Serving(Get(name));

    /// <summary>Queues a build. 409 while an index of that name exists; a failed one may be built again (the same inputs resume from its checkpoint).</summary>
    public IndexEntry Enqueue(string name, string model, IndexItem[] items, string[] anchorQueries, ScoreType storedAs)
    {
        var job = new IndexBuildJob(Guid.NewGuid().ToString("N"), name, model, items, anchorQueries, storedAs);
        IndexEntry entry;
        lock (gate)
        {
            if (entries.TryGetValue(name, out var existing) && existing.State.Status != IndexStatus.Failed)
            {
                throw new ServiceException(ServiceErrorKind.Conflict,
                    $"Index '{name}' already exists ({Describe(existing.State.Status)}). Choose another name, or change its items with " +
                    $"POST /v1/indexes/{name}/items and DELETE /v1/indexes/{name}/items/{{id}}.",
                    new Dictionary<string, object?> { ["index"] = name });
            }
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllBytes(JobPath(name), JsonSerializer.SerializeToUtf8Bytes(job, JobJson));
            entry = new IndexEntry(name, System.IO.Path.Combine(Directory, name + IndexesOptions.FileExtension));
            entry.Queue(job);
            entries[name] = entry;
        }
        jobs.Writer.TryWrite(job);
        return entry;
    }

    /// <summary>Scores the new items against the k_q anchor queries (k_q CE calls each), appends them and saves the file.</summary>
    /// <returns>The CE calls made.</returns>
    public async Task<int> InsertAsync(string name, IndexItem[] items, CancellationToken cancellationToken)
    {
        var entry = Get(name);
        await entry.Writer.WaitAsync(cancellationToken);
        try
        {
            var serving = Serving(entry);
            var index = serving.Index;
            if (items.FirstOrDefault(item => index.Contains(item.Id)) is { } present)
            {
                throw new ServiceException(ServiceErrorKind.Conflict,
                    $"Item '{present.Id}' is already in index '{name}'. Choose another id, or delete the item first (DELETE /v1/indexes/{name}/items/{present.Id}).",
                    new Dictionary<string, object?> { ["index"] = name, ["id"] = present.Id });
            }
            // Embedded first: once the index has the items, nothing may fail before their columns are appended beside them.
            var vectors = serving.Embeddings is null ? null : await gateway.Embedder().EmbedAsync([.. items.Select(item => item.Text)], cancellationToken);
            var calls = await index.InsertAsync(items, gateway.Scorer(serving.Model), cancellationToken);
            if (vectors is not null)
                serving.Embeddings!.Append(vectors);
            AnchorIndexFile.Save(index, entry.Path);
            return calls;
        }
        finally
        {
            entry.Writer.Release();
        }
    }

    /// <summary>Tombstones the item and saves the file (which then holds live items only).</summary>
    public async Task DeleteAsync(string name, string id, CancellationToken cancellationToken)
    {
        var entry = Get(name);
        await entry.Writer.WaitAsync(cancellationToken);
        try
        {
            var index = Serving(entry).Index;
            if (!index.Delete(id))
            {
                throw new ServiceException(ServiceErrorKind.NotFound,
                    $"Index '{name}' has no item '{id}'. Search the index to see its item ids.",
                    new Dictionary<string, object?> { ["index"] = name, ["id"] = id });
            }
            AnchorIndexFile.Save(index, entry.Path);
        }
        finally
        {
            entry.Writer.Release();
        }
    }

    /// <summary>
    /// Unloads the index and removes its file, its build checkpoint (<c>.partial</c>) and its job file. 409 while it is
    /// queued or building: the build owns those files until it ends.
    /// </summary>
    public async Task RemoveAsync(string name, CancellationToken cancellationToken)
    {
        var entry = Get(name);
        await entry.Writer.WaitAsync(cancellationToken);
        try
        {
            lock (gate)
            {
                if (entry.State.Status is IndexStatus.Queued or IndexStatus.Building)
                {
                    throw new ServiceException(ServiceErrorKind.Conflict,
                        $"Index '{name}' is {Describe(entry.State.Status)}. Delete it once GET /v1/indexes/{name} shows it ready or failed.",
                        new Dictionary<string, object?> { ["index"] = name });
                }
                entries.TryRemove(name, out _);
            }
            foreach (var file in (string[])[entry.Path, entry.Path + ".partial", JobPath(name)])
                File.Delete(file);
            logger.LogInformation("Index {Index} deleted with its file {File}", name, entry.Path);
        }
        finally
        {
            entry.Writer.Release();
        }
    }

    /// <summary>
    /// Loads the index's file again. A refused file (damaged, truncated, another model's) changes nothing: the previous index
    /// keeps serving and GET shows the error.
    /// </summary>
    public async Task<IndexEntry> ReloadAsync(string name, CancellationToken cancellationToken)
    {
        var entry = Get(name);
        await entry.Writer.WaitAsync(cancellationToken);
        try
        {
            if (entry.State.Status is not (IndexStatus.Ready or IndexStatus.Failed))
            {
                throw new ServiceException(ServiceErrorKind.Conflict,
                    $"Index '{name}' is {Describe(entry.State.Status)}. Reload it once GET /v1/indexes/{name} shows it ready or failed.",
                    new Dictionary<string, object?> { ["index"] = name });
            }
            var error = entry.Host is { } host
                ? await ReplaceAsync(entry, host, cancellationToken)
                : await LoadAsync(entry, cancellationToken);
            if (error is not null)
            {
                var consequence = entry.Host?.Current is null ? "the index stays failed" : "the previous index keeps serving";
                throw new ServiceException(ServiceErrorKind.IndexFileRefused,
                    $"The file of index '{name}' was refused and {consequence}: {error} Restore the file, or build the index again under another name.",
                    new Dictionary<string, object?> { ["index"] = name });
            }
            return entry;
        }
        finally
        {
            entry.Writer.Release();
        }
    }

    /// <summary>At start: every *.anncur of the directory and every Indexes:Files entry, then the builds a shutdown interrupted.</summary>
    internal async Task LoadFilesAsync(CancellationToken cancellationToken)
    {
        var paths = new List<string>();
        try
        {
            // Created by the first build, not here: a service that never builds leaves no empty folder behind.
            if (System.IO.Directory.Exists(Directory))
                paths.AddRange(System.IO.Directory.EnumerateFiles(Directory, "*" + IndexesOptions.FileExtension).Order(StringComparer.Ordinal));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError("Index directory {Directory} cannot be read, so no index is loaded from it: {Reason}", Directory, e.Message);
        }
        paths.AddRange(options.Value.Files.Select(ResolveFile));

        var loading = new List<IndexEntry>();
        foreach (var path in paths)
        {
            var entry = new IndexEntry(System.IO.Path.GetFileNameWithoutExtension(path), path) { AtStart = true };
            if (entries.TryAdd(entry.Name, entry))
                loading.Add(entry);
            else
                logger.LogWarning("Index file {File} is not loaded: another index is already called {Index}", path, entry.Name);
        }
        filesListed = true;
        foreach (var entry in loading)
            await LoadAsync(entry, cancellationToken);
        RequeueInterruptedBuilds();
    }

    /// <summary>Runs one queued build: R = CE(anchor queries × items) shard by shard, the file, the embeddings, then ready.</summary>
    internal async Task BuildAsync(IndexBuildJob job, CancellationToken stopping)
    {
        var entry = entries[job.Name];
        entry.Report(new AnchorIndexBuildProgress(0, job.Items.Length, job.AnchorQueries.Length));
        try
        {
            var model = await CrossEncoderAsync(job.Model, stopping);
            var scorer = new RerankModelScorer(model);
            var builder = new AnchorIndexBuilder(new PatientScorer(scorer)) { ShardSize = options.Value.ShardSize };
            var index = await builder.BuildAsync(scorer.BuildRequest(job.AnchorQueries, job.Items, job.StoredAs), entry.Path, entry, stopping);
            var host = new AnchorIndexHost(scorer.ModelHash);
            host.Replace(index);
            await ServeAsync(entry, host, model, stopping);
            logger.LogInformation("Index {Index} built: {Items} items × {Queries} anchor queries", job.Name, job.Items.Length, job.AnchorQueries.Length);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return; // the job file stays: the next start queues the build again and it resumes from its checkpoint
        }
        catch (Exception e)
        {
            // Whatever stopped this build (the model, the disk, a score float16 cannot hold) fails only this index.
            logger.LogError(e, "Build of index {Index} failed", job.Name);
            entry.Fail(e.Message);
        }
        try
        {
            File.Delete(JobPath(job.Name));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Job file of index {Index} could not be removed: {Reason}", job.Name, e.Message);
        }
    }

    ServingIndex Serving(IndexEntry entry)
    {
        if (entry.Serving() is { } serving)
            return serving;
        var state = entry.State;
        var detail = state.Status switch
        {
            IndexStatus.Queued or IndexStatus.Building =>
                $"Index '{entry.Name}' is being built ({state.Progress:P0} of its cross-encoder calls done). Retry once GET /v1/indexes/{entry.Name} shows it ready.",
            IndexStatus.Loading => $"Index '{entry.Name}' is loading. Retry after the Retry-After interval.",
            _ => $"Index '{entry.Name}' failed and cannot serve until its file is fixed (POST /v1/indexes/{entry.Name}/reload): {state.Error}",
        };
        throw new ServiceException(ServiceErrorKind.NotReady, detail, new Dictionary<string, object?> { ["index"] = entry.Name });
    }

    /// <summary>A file whose model is not known yet: it names its model, whose weights' hash must be the one the file was built with.</summary>
    /// <returns>Null, or why the file was not loaded (the entry then shows it).</returns>
    async Task<string?> LoadAsync(IndexEntry entry, CancellationToken cancellationToken)
    {
        entry.Loading();
        try
        {
            var index = AnchorIndexFile.Load(entry.Path, expectedModelHash: null);
            var model = await CrossEncoderAsync(index.Info.ModelId, cancellationToken);
            if (!string.Equals(index.Info.ModelHash, model.WeightsSha256, StringComparison.Ordinal))
            {
                throw new AnchorIndexFormatException(entry.Path, AnchorIndexFileError.ModelMismatch,
                    $"built with model '{index.Info.ModelId}' whose weights had hash {index.Info.ModelHash}; the served '{index.Info.ModelId}' has {model.WeightsSha256}. Build the index again.");
            }
            var host = new AnchorIndexHost(model.WeightsSha256);
            host.Replace(index);
            await ServeAsync(entry, host, model, cancellationToken);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Refused(entry, e); // whatever is wrong with one file fails only that index, never the service
        }
    }

    /// <summary>A reload through the entry's host: a refused file leaves the serving index in place.</summary>
    async Task<string?> ReplaceAsync(IndexEntry entry, AnchorIndexHost host, CancellationToken cancellationToken)
    {
        if (!host.TryReplace(entry.Path, out var error))
            return Refused(entry, error);
        await ServeAsync(entry, host, entry.Serving()!.Model, cancellationToken);
        return null;
    }

    string Refused(IndexEntry entry, Exception error)
    {
        var reason = error.Message.Replace(entry.Path, System.IO.Path.GetFileName(entry.Path), StringComparison.Ordinal);
        logger.LogError("Index file {File} was not loaded: {Reason}", entry.Path, error.Message);
        entry.Fail(reason);
        return reason;
    }

    /// <summary>Embeds the items with the base bi-encoder (Models:Default), then serves; without embeddings every method but de-rerank still works.</summary>
    async Task ServeAsync(IndexEntry entry, AnchorIndexHost host, RerankModel model, CancellationToken cancellationToken)
    {
        try
        {
            await registry.WhenLoaded(registry.DefaultModel).WaitAsync(cancellationToken);
            var embedder = new SentenceEmbedder(registry.Get<SentenceEmbeddingModel>(null, SentenceEmbeddingModel.Kind));
            entry.Serve(host, model, await ItemEmbeddings.ComputeAsync(host.Current!.Snapshot(), embedder, cancellationToken), null);
        }
        catch (ServiceException e)
        {
            logger.LogWarning("Index {Index} serves without de-rerank: its items could not be embedded: {Reason}", entry.Name, e.Message);
            entry.Serve(host, model, null, $"the items could not be embedded: {e.Message}");
        }
    }

    async Task<RerankModel> CrossEncoderAsync(string name, CancellationToken cancellationToken)
    {
        await registry.WhenLoaded(name).WaitAsync(cancellationToken);
        return registry.Get<RerankModel>(name, RerankModel.Kind);
    }

    void RequeueInterruptedBuilds()
    {
        string[] files;
        try
        {
            files = System.IO.Directory.Exists(Directory) ? System.IO.Directory.GetFiles(Directory, "*" + JobSuffix) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // already reported: the directory cannot be read
        }
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            IndexBuildJob job;
            try
            {
                job = JsonSerializer.Deserialize<IndexBuildJob>(File.ReadAllBytes(file), JobJson)!;
            }
            catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
            {
                logger.LogError("Interrupted build {File} cannot be read and is not resumed: {Reason}", file, e.Message);
                continue;
            }
            lock (gate)
            {
                if (entries.TryGetValue(job.Name, out var existing))
                {
                    if (existing.State.JobId != job.Id)
                        File.Delete(file); // its index was written before the job file could be removed
                    continue;
                }
                var entry = new IndexEntry(job.Name, System.IO.Path.Combine(Directory, job.Name + IndexesOptions.FileExtension));
                entry.Queue(job);
                entries[job.Name] = entry;
            }
            jobs.Writer.TryWrite(job);
            logger.LogInformation("Build of index {Index} was interrupted; queued again, it resumes from its checkpoint", job.Name);
        }
    }

    string JobPath(string name) => System.IO.Path.Combine(Directory, name + JobSuffix);

    /// <summary>An absolute path as is; a relative one under the content root, else beside the app (as Models:Adapters paths).</summary>
    string ResolveFile(string path)
    {
        if (System.IO.Path.IsPathRooted(path))
            return path;
        var candidates = new[] { environment.ContentRootPath, AppContext.BaseDirectory }.Select(root => System.IO.Path.Combine(root, path));
        return candidates.FirstOrDefault(File.Exists) ?? System.IO.Path.Combine(environment.ContentRootPath, path);
    }

    internal static string Describe(IndexStatus status) => status.ToString().ToLowerInvariant();

    sealed class PatientScorer(ICrossEncoderScorer inner) : ICrossEncoderScorer
    {
        public async Task<float[]> ScoreAsync(string query, IReadOnlyList<string> items, CancellationToken cancellationToken)
        {
            while (true)
            {
                try
                {
                    return await inner.ScoreAsync(query, items, cancellationToken);
                }
                catch (ServiceException e) when (e.Kind == ServiceErrorKind.Overloaded)
                {
                    await Task.Delay(OverloadedRetry, cancellationToken);
                }
            }
        }
    }
}
