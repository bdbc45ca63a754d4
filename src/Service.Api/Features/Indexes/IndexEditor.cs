using Service.Api.Features.Shared;
using Service.Index;
using Service.Models.Errors;

namespace Service.Api.Features.Indexes;

/// <summary>
/// Changes a ready index and its files: items inserted (scored against its anchor queries) or deleted, each change
/// saved to the index's file; or the whole index removed with its file, checkpoint and job file.
/// </summary>
public sealed class IndexEditor(IndexCatalog catalog, TextGateway gateway, IndexBuildJobStore jobStore, ILogger<IndexEditor> logger)
{
    /// <summary>Scores the new items against the k_q anchor queries (k_q CE calls each), appends them and saves the file.</summary>
    /// <returns>The CE calls made.</returns>
    public async Task<int> InsertAsync(string name, IndexItem[] items, CancellationToken cancellationToken)
    {
        var entry = catalog.Get(name);
        using (await entry.WriterTurnAsync(cancellationToken))
        {
            var serving = IndexCatalog.Serving(entry);
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
    }

    /// <summary>Tombstones the item and saves the file (which then holds live items only).</summary>
    public async Task DeleteAsync(string name, string id, CancellationToken cancellationToken)
    {
        var entry = catalog.Get(name);
        using (await entry.WriterTurnAsync(cancellationToken))
        {
            var index = IndexCatalog.Serving(entry).Index;
            if (!index.Delete(id))
            {
                throw new ServiceException(ServiceErrorKind.NotFound,
                    $"Index '{name}' has no item '{id}'. Search the index to see its item ids.",
                    new Dictionary<string, object?> { ["index"] = name, ["id"] = id });
            }
            AnchorIndexFile.Save(index, entry.Path);
        }
    }

    /// <summary>
    /// Unloads the index and removes its file, its build checkpoint (<c>.partial</c>) and its job file. 409 while it is
    /// queued or building: the build owns those files until it ends.
    /// </summary>
    public async Task RemoveAsync(string name, CancellationToken cancellationToken)
    {
        var entry = catalog.Get(name);
        using (await entry.WriterTurnAsync(cancellationToken))
        {
            catalog.Remove(entry);
            foreach (var file in (string[])[entry.Path, entry.Path + ".partial", jobStore.PathOf(name)])
                File.Delete(file);
            logger.LogInformation("Index {Index} deleted with its file {File}", name, entry.Path);
        }
    }
}
