using Service.Api.Features.Shared;
using Service.Index;
using Service.Models.Errors;
using Service.Models.Registry;
using Service.Models.Text;

namespace Service.Api.Features.Indexes;

/// <summary>
/// Brings an index file into service: checks that its cross-encoder's weights are the served ones, embeds its items for
/// de-rerank with the base bi-encoder, and marks the entry ready; a refused file fails only its own index.
/// </summary>
public sealed class IndexLoader(ModelRegistry registry, ILogger<IndexLoader> logger)
{
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
    public async Task<string?> ReplaceAsync(IndexEntry entry, AnchorIndexHost host, CancellationToken cancellationToken)
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

    string Refused(IndexEntry entry, Exception error)
    {
        var reason = error.Message.Replace(entry.Path, Path.GetFileName(entry.Path), StringComparison.Ordinal);
        logger.LogError("Index file {File} was not loaded: {Reason}", entry.Path, error.Message);
        entry.Fail(reason);
        return reason;
    }
}
