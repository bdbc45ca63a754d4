using Service.Index;

namespace Service.Models.Text;

/// <summary>
/// A served cross-encoder as the index's scorer: the adapter from this project's models to the scorer the Index library
/// defines, here so that the service and the CLI's index builds and evaluations use one adapter. Every call goes through the model's batching worker, so index builds,
/// inserts and searches share its queue, batches and limits with POST /rerank.
/// </summary>
/// <remarks>A pair over the model's token limit is cut (the item's tokens first), never refused: an index has to score every item.</remarks>
public sealed class CrossEncoderScorer(CrossEncoderModel model) : ICrossEncoderScorer
{
    public string ModelId => model.Descriptor.Name;

    /// <summary>The weights' digest: an index file built with this scorer loads only where these weights serve.</summary>
    public string ModelHash => model.WeightsSha256;

    /// <summary>What <see cref="AnchorIndexBuilder"/> needs to build an index of <paramref name="items"/> with this model.</summary>
    public AnchorIndexBuildRequest BuildRequest(IReadOnlyList<string> anchorQueries, IReadOnlyList<IndexItem> items, ScoreType storedAs = ScoreType.Float32) =>
        new(ModelId, ModelHash, anchorQueries, items, storedAs);

    public async Task<float[]> ScoreAsync(string query, IReadOnlyList<string> items, CancellationToken cancellationToken) =>
        (await model.ScoreAsync(query, items, truncate: true, cancellationToken).ConfigureAwait(false)).Scores;
}

/// <summary>A served sentence-embedding model as a bi-encoder; texts over the token limit are cut, as for the cross-encoder.</summary>
public sealed class SentenceEmbedder(SentenceEmbeddingModel model) : ITextEmbedder
{
    public int Dimensions => model.Descriptor.Dimensions;

    public async Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
        (await model.EmbedAsync(texts, truncate: true, normalize: true, cancellationToken).ConfigureAwait(false)).Vectors;
}
