using Service.Api.Features.Shared;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Service.Api.Hosting;
using Service.Index;
using Service.Models.Errors;
using Service.Models.Registry;
using Service.Models.Text;

namespace Service.Api.Features.Shared;

/// <summary>
/// The request flow every text route shares after validation: find the model → take one of its permits per input or pair
/// (429 when none) → tokenize, queue and batch inside the model → stage timings into response headers.
/// </summary>
public sealed class TextGateway(ModelRegistry registry, ModelPermits permits, IOptions<ModelsOptions> models, IOptions<LimitsOptions> limits)
{
    public async Task<EmbeddingOutput> EmbedAsync(
        HttpContext http, string? model, IReadOnlyList<string> texts, bool truncate = false, bool normalize = true)
    {
        var started = Stopwatch.GetTimestamp();
        var embedder = registry.Get<SentenceEmbeddingModel>(model, SentenceEmbeddingModel.Kind);
        using var lease = permits.Admit(embedder.Descriptor.Name, texts.Count);
        var output = await embedder.EmbedAsync(texts, truncate, normalize, http.RequestAborted);
        SetTimings(http.Response, output.Timings, started);
        return output;
    }

    /// <summary>Raw cross-encoder scores of each text against the query; <paramref name="model"/> null means Models:DefaultCrossEncoder.</summary>
    public async Task<RerankOutput> RerankAsync(HttpContext http, string? model, string query, IReadOnlyList<string> texts, bool truncate)
    {
        var started = Stopwatch.GetTimestamp();
        var reranker = CrossEncoder(model);
        using var lease = permits.Admit(reranker.Descriptor.Name, texts.Count);
        var output = await reranker.ScoreAsync(query, texts, truncate, http.RequestAborted);
        SetTimings(http.Response, output.Timings, started);
        return output;
    }

    /// <summary>The loaded cross-encoder <paramref name="model"/>; null means Models:DefaultCrossEncoder (422 when none is configured).</summary>
    public CrossEncoderModel CrossEncoder(string? model)
    {
        var name = model ?? models.Value.DefaultCrossEncoder;
        if (name.Length == 0)
        {
            var available = registry.Names(CrossEncoderModel.Kind);
            throw new ServiceException(ServiceErrorKind.ValidationFailed,
                $"No default cross-encoder is configured; name one in 'model': {string.Join(", ", available)} (see GET /v1/models).",
                new Dictionary<string, object?> { ["field"] = "model", ["available"] = available });
        }
        return registry.Get<CrossEncoderModel>(name, CrossEncoderModel.Kind);
    }

    /// <summary>
    /// The cross-encoder as an index scorer for one request (search, insert). Each call is cut into pieces of at most
    /// Limits:MaxInputsPerRequest items, each admitted like a /rerank request, so a search of any budget holds no more permits
    /// than one request may and competes fairly with the other text routes.
    /// </summary>
    public ICrossEncoderScorer Scorer(CrossEncoderModel model) => new AdmittedScorer(this, model.Descriptor.Name, new CrossEncoderScorer(model));

    /// <summary>The default embedding model (Models:Default) as a bi-encoder for one request, admitted like <see cref="Scorer"/>.</summary>
    public ITextEmbedder Embedder()
    {
        var model = registry.Get<SentenceEmbeddingModel>(null, SentenceEmbeddingModel.Kind);
        return new AdmittedEmbedder(this, model.Descriptor.Name, new SentenceEmbedder(model));
    }

    async Task<T[]> AdmitInPiecesAsync<T>(string model, IReadOnlyList<string> texts, Func<IReadOnlyList<string>, Task<T[]>> run)
    {
        var piece = limits.Value.MaxInputsPerRequest;
        var results = new List<T>(texts.Count);
        for (var start = 0; start < texts.Count; start += piece)
        {
            var slice = texts.Skip(start).Take(piece).ToArray();
            using var lease = permits.Admit(model, slice.Length);
            results.AddRange(await run(slice));
        }
        return [.. results];
    }

    sealed class AdmittedScorer(TextGateway gateway, string model, ICrossEncoderScorer inner) : ICrossEncoderScorer
    {
        public Task<float[]> ScoreAsync(string query, IReadOnlyList<string> items, CancellationToken cancellationToken) =>
            gateway.AdmitInPiecesAsync(model, items, piece => inner.ScoreAsync(query, piece, cancellationToken));
    }

    sealed class AdmittedEmbedder(TextGateway gateway, string model, ITextEmbedder inner) : ITextEmbedder
    {
        public int Dimensions => inner.Dimensions;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
            gateway.AdmitInPiecesAsync(model, texts, piece => inner.EmbedAsync(piece, cancellationToken));
    }

    static void SetTimings(HttpResponse response, StageTimings timings, long started)
    {
        TimingHeaders.Set(response, "tokenization", timings.Tokenization);
        TimingHeaders.Set(response, "queue", timings.Queue);
        TimingHeaders.Set(response, "inference", timings.Inference);
        TimingHeaders.Set(response, "total", Stopwatch.GetElapsedTime(started));
    }
}
