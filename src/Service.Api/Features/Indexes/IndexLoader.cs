using Microsoft.Extensions.Options;
using Service.Api.Hosting;
using Service.Index;
using Service.Models.Errors;
using Service.Models.Registry;
using Service.Models.Text;

namespace Service.Api.Features.Indexes;

/// <summary>
/// Brings index files into service: at start every file of the index directory and of Indexes:Files, and again on
/// reload. Each load checks that the file's cross-encoder weights are the served ones, embeds its items for de-rerank
/// with the base bi-encoder, and marks the entry ready; a refused file fails only its own index.
/// </summary>
public sealed class IndexLoader(
    ModelRegistry registry, IndexCatalog catalog, IOptions<IndexesOptions> options, IHostEnvironment environment, ILogger<IndexLoader> logger)
{
    /// <summary>At start: every *.anncur of the index directory, then every Indexes:Files entry.</summary>
    public async Task LoadFilesAsync(CancellationToken cancellationToken)
    {
        var paths = new List<string>();
        try
        {
            // Created by the first build, not here: a service that never builds leaves no empty folder behind.
            if (Directory.Exists(catalog.Directory))
                paths.AddRange(Directory.EnumerateFiles(catalog.Directory, "*" + IndexesOptions.FileExtension).Order(StringComparer.Ordinal));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError("Index directory {Directory} cannot be read, so no index is loaded from it: {Reason}", catalog.Directory, e.Message);
        }
        paths.AddRange(options.Value.Files.Select(ResolveFile));

        var loading = new List<IndexEntry>();
        foreach (var path in paths)
        {
            var entry = new IndexEntry(Path.GetFileNameWithoutExtension(path), path) { AtStart = true };
            if (catalog.TryAdd(entry))
                loading.Add(entry);
            else
                logger.LogWarning("Index file {File} is not loaded: another index is already called {Index}", path, entry.Name);
        }
        catalog.FilesListed();
        foreach (var entry in loading)
            await LoadAsync(entry, cancellationToken);
    }

    /// <summary>
    /// Loads the index's file again. A refused file (damaged, truncated, another model's) changes nothing: the previous index
    /// keeps serving and GET shows the error.
    /// </summary>
    public async Task<IndexEntry> ReloadAsync(string name, CancellationToken cancellationToken)
    {
        var entry = catalog.Get(name);
        using (await entry.WriterTurnAsync(cancellationToken))
        {
            if (entry.State.Status is not (IndexStatus.Ready or IndexStatus.Failed))
            {
                throw new ServiceException(ServiceErrorKind.Conflict,
                    $"Index '{name}' is {IndexCatalog.Describe(entry.State.Status)}. Reload it once GET /v1/indexes/{name} shows it ready or failed.",
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
    }

    /// <summary>A file whose model is not known yet: it names its model, whose weights' hash must be the one the file was built with.</summary>
    /// <returns>Null, or why the file was not loaded (the entry then shows it).</returns>
    public async Task<string?> LoadAsync(IndexEntry entry, CancellationToken cancellationToken)
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

    /// <summary>Embeds the items with the base bi-encoder (Models:Default), then serves; without embeddings every method but de-rerank still works.</summary>
    public async Task ServeAsync(IndexEntry entry, AnchorIndexHost host, CrossEncoderModel model, CancellationToken cancellationToken)
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

    public async Task<CrossEncoderModel> CrossEncoderAsync(string name, CancellationToken cancellationToken)
    {
        await registry.WhenLoaded(name).WaitAsync(cancellationToken);
        return registry.Get<CrossEncoderModel>(name, CrossEncoderModel.Kind);
    }

    /// <summary>Where an Indexes:Files entry is (<see cref="AppFiles.Find"/>); a missing file keeps its path under the content root, so its load fails naming it.</summary>
    string ResolveFile(string path) => AppFiles.Find(path, environment.ContentRootPath) ?? Path.Combine(environment.ContentRootPath, path);

    string Refused(IndexEntry entry, Exception error)
    {
        var reason = error.Message.Replace(entry.Path, Path.GetFileName(entry.Path), StringComparison.Ordinal);
        logger.LogError("Index file {File} was not loaded: {Reason}", entry.Path, error.Message);
        entry.Fail(reason);
        return reason;
    }
}
