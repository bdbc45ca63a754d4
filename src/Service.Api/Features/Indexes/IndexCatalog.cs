using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Index;
using Service.Models.Errors;

namespace Service.Api.Features.Indexes;

/// <summary>
/// The named ANNCUR indexes of this service: loaded from files at start, built by background jobs (<see cref="IndexWorker"/>),
/// changed by inserts and deletes that are saved to the index's file. A ready index serves searches with the cross-encoder
/// it was built with, through that model's batching worker.
/// </summary>
public sealed class IndexCatalog(
    IndexLoader loader, TextGateway gateway, IOptions<IndexesOptions> options, IHostEnvironment environment, ILogger<IndexCatalog> logger)
{
    readonly Lock gate = new(); // adding and replacing entries
    readonly ConcurrentDictionary<string, IndexEntry> entries = new(StringComparer.Ordinal);
    readonly Channel<IndexBuildJob> jobs = Channel.CreateUnbounded<IndexBuildJob>(new UnboundedChannelOptions { SingleReader = true });
    volatile bool filesListed;

    /// <summary>Indexes:Directory resolved against the content root.</summary>
    public string Directory { get; } = options.Value.ResolvedDirectory(environment.ContentRootPath);

    /// <summary>The job files of accepted builds, in <see cref="Directory"/>.</summary>
    internal IndexBuildJobStore JobStore { get; } = new(options.Value.ResolvedDirectory(environment.ContentRootPath));

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
            JobStore.Save(job);
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
            foreach (var file in (string[])[entry.Path, entry.Path + ".partial", JobStore.PathOf(name)])
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
                ? await loader.ReplaceAsync(entry, host, cancellationToken)
                : await loader.LoadAsync(entry, cancellationToken);
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
            await loader.LoadAsync(entry, cancellationToken);
        RequeueInterruptedBuilds();
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

    void RequeueInterruptedBuilds()
    {
        foreach (var (file, job, error) in JobStore.ReadAll())
        {
            if (job is null)
            {
                logger.LogError("Interrupted build {File} cannot be read and is not resumed: {Reason}", file, error);
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

    /// <summary>Where an Indexes:Files entry is (<see cref="AppFiles.Find"/>); a missing file keeps its path under the content root, so its load fails naming it.</summary>
    string ResolveFile(string path) =>
        AppFiles.Find(path, environment.ContentRootPath) ?? System.IO.Path.Combine(environment.ContentRootPath, path);

    internal static string Describe(IndexStatus status) => status.ToString().ToLowerInvariant();
}
