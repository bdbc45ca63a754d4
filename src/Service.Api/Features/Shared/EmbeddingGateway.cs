using System.Diagnostics;
using System.Threading.RateLimiting;
using Service.Models.Errors;
using Service.Models.Registry;
using Service.Models.Text;

namespace Service.Api.Features.Shared;

/// <summary>
/// The request flow every text route shares after validation: find the model → take one permit per input
/// (429 when none) → tokenize, queue and batch inside the model → stage timings into response headers.
/// </summary>
public sealed class EmbeddingGateway(ModelRegistry registry, ConcurrencyLimiter permits)
{
    public async Task<EmbeddingOutput> EmbedAsync(
        HttpContext http, string? model, IReadOnlyList<string> texts, bool truncate = false, bool normalize = true)
    {
        var started = Stopwatch.GetTimestamp();
        var embedder = registry.Get<SentenceEmbeddingModel>(model, SentenceEmbeddingModel.Kind);
        using var lease = permits.AttemptAcquire(texts.Count);
        if (!lease.IsAcquired)
        {
            throw new ServiceException(ServiceErrorKind.Overloaded,
                "Too many inputs are being processed. Retry after the Retry-After interval or send fewer concurrent inputs.");
        }

        var output = await embedder.EmbedAsync(texts, truncate, normalize, http.RequestAborted);
        TimingHeaders.Set(http.Response, "tokenization", output.Timings.Tokenization);
        TimingHeaders.Set(http.Response, "queue", output.Timings.Queue);
        TimingHeaders.Set(http.Response, "inference", output.Timings.Inference);
        TimingHeaders.Set(http.Response, "total", Stopwatch.GetElapsedTime(started));
        return output;
    }
}
