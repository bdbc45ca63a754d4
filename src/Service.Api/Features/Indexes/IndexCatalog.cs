using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Service.Api.Hosting;
using Service.Models.Errors;

namespace Service.Api.Features.Indexes;

/// <summary>
/// The named ANNCUR indexes of this service and their states: who may add, replace or remove an entry, and which entry
/// serves searches. Loading (<see cref="IndexLoader"/>), building (<see cref="IndexBuildRunner"/>) and changing items
/// (<see cref="IndexEditor"/>) go through it.
/// </summary>
public sealed class IndexCatalog(IOptions<IndexesOptions> options, IHostEnvironment environment)
{
    readonly Lock gate = new(); // adding, replacing and removing entries
    readonly ConcurrentDictionary<string, IndexEntry> entries = new(StringComparer.Ordinal);
    volatile bool filesListed;

    /// <summary>Indexes:Directory resolved against the content root.</summary>
    public string Directory { get; } = options.Value.ResolvedDirectory(environment.ContentRootPath);

    /// <summary>Where index <paramref name="name"/>'s file is when this service builds it.</summary>
    public string PathOf(string name) => Path.Combine(Directory, name + IndexesOptions.FileExtension);

    public IReadOnlyList<IndexEntry> List() => [.. entries.Values.OrderBy(entry => entry.Name, StringComparer.Ordinal)];

    public IndexEntry Get(string name) => entries.TryGetValue(name, out var entry)
        ? entry
        : throw new ServiceException(ServiceErrorKind.NotFound,
            $"No index '{name}'. GET /v1/indexes lists the indexes; POST /v1/indexes builds one.",
            new Dictionary<string, object?> { ["index"] = name });

    public bool TryGet(string name, out IndexEntry entry) => entries.TryGetValue(name, out entry!);

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

    /// <summary>The entry's ready index; 503 while queued, loading or building, or after it failed.</summary>
    public static ServingIndex Serving(IndexEntry entry)
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

    /// <summary>
    /// Adds the entry <paramref name="create"/> makes, in place of a failed one of that name; 409 while another exists.
    /// <paramref name="create"/> runs under the catalog's lock, so two builds of one name cannot both be accepted.
    /// </summary>
    public IndexEntry Claim(string name, Func<IndexEntry> create)
    {
        lock (gate)
        {
            if (entries.TryGetValue(name, out var existing) && existing.State.Status != IndexStatus.Failed)
            {
                throw new ServiceException(ServiceErrorKind.Conflict,
                    $"Index '{name}' already exists ({Describe(existing.State.Status)}). Choose another name, or change its items with " +
                    $"POST /v1/indexes/{name}/items and DELETE /v1/indexes/{name}/items/{{id}}.",
                    new Dictionary<string, object?> { ["index"] = name });
            }
            var entry = create();
            entries[name] = entry;
            return entry;
        }
    }

    /// <summary>Adds the entry unless one of its name exists.</summary>
    public bool TryAdd(IndexEntry entry)
    {
        lock (gate)
            return entries.TryAdd(entry.Name, entry);
    }

    /// <summary>Removes the entry; 409 while it is queued or building, since the build owns its files until it ends.</summary>
    public void Remove(IndexEntry entry)
    {
        lock (gate)
        {
            if (entry.State.Status is IndexStatus.Queued or IndexStatus.Building)
            {
                throw new ServiceException(ServiceErrorKind.Conflict,
                    $"Index '{entry.Name}' is {Describe(entry.State.Status)}. Delete it once GET /v1/indexes/{entry.Name} shows it ready or failed.",
                    new Dictionary<string, object?> { ["index"] = entry.Name });
            }
            entries.TryRemove(new KeyValuePair<string, IndexEntry>(entry.Name, entry));
        }
    }

    /// <summary>Every index file of the start has an entry: readiness now waits for those entries only.</summary>
    public void FilesListed() => filesListed = true;

    internal static string Describe(IndexStatus status) => status.ToString().ToLowerInvariant();
}
