using System.Diagnostics;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Service.Api.Hosting;
using Service.Models.Errors;
using Service.Models.Registry;
using Service.Models.Text;

namespace Service.Api.Features.Shared;

/// <summary>
/// The request flow every text route shares after validation: find the model → take one permit per input or pair
/// (429 when none) → tokenize, queue and batch inside the model → stage timings into response headers.
/// </summary>
public sealed class TextGateway(ModelRegistry registry, ConcurrencyLimiter permits, IOptions<ModelsOptions> models)
{
    public async Task<EmbeddingOutput> EmbedAsync(
        HttpContext http, string? model, IReadOnlyList<string> texts, bool truncate = false, bool normalize = true)
    {
        var started = Stopwatch.GetTimestamp();
        var embedder = registry.Get<SentenceEmbeddingModel>(model, SentenceEmbeddingModel.Kind);
        using var lease = Admit(texts.Count);
        var output = await embedder.EmbedAsync(texts, truncate, normalize, http.RequestAborted);
        SetTimings(http.Response, output.Timings, started);
        return output;
    }

    /// <summary>Raw cross-encoder scores of each text against the query; <paramref name="model"/> null means Models:DefaultCrossEncoder.</summary>
    public async Task<RerankOutput> RerankAsync(HttpContext http, string? model, string query, IReadOnlyList<string> texts, bool truncate)
    {
        var started = Stopwatch.GetTimestamp();
        var name = model ?? models.Value.DefaultCrossEncoder;
        if (name.Length == 0)
        {
            var available = registry.Names(RerankModel.Kind);
            throw new ServiceException(ServiceErrorKind.ValidationFailed,
                $"No default cross-encoder is configured; name one in 'model': {string.Join(", ", available)} (see GET /v1/models).",
                new Dictionary<string, object?> { ["field"] = "model", ["available"] = available });
        }
        var reranker = registry.Get<RerankModel>(name, RerankModel.Kind);
        using var lease = Admit(texts.Count);
        var output = await reranker.ScoreAsync(query, texts, truncate, http.RequestAborted);
        SetTimings(http.Response, output.Timings, started);
        return output;
    }

    RateLimitLease Admit(int inputs)
    {
        var lease = permits.AttemptAcquire(inputs);
        if (lease.IsAcquired)
            return lease;
        lease.Dispose();
        throw new ServiceException(ServiceErrorKind.Overloaded,
            "Too many inputs are being processed. Retry after the Retry-After interval or send fewer concurrent inputs.");
    }

    static void SetTimings(HttpResponse response, StageTimings timings, long started)
    {
        TimingHeaders.Set(response, "tokenization", timings.Tokenization);
        TimingHeaders.Set(response, "queue", timings.Queue);
        TimingHeaders.Set(response, "inference", timings.Inference);
        TimingHeaders.Set(response, "total", Stopwatch.GetElapsedTime(started));
    }
}
