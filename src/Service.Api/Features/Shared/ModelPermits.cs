using System.Threading.RateLimiting;
using Service.Models.Errors;

namespace Service.Api.Features.Shared;

/// <summary>
/// Admission per model: each model may hold Limits:MaxConcurrentInputs inputs (or pairs) in flight, one permit each,
/// with no waiting line beyond its own queue. A backlog on the cross-encoder therefore cannot turn away requests for
/// the idle bi-encoder; the memory bound is that many inputs per model.
/// </summary>
public sealed class ModelPermits(int permitsPerModel) : IDisposable
{
    readonly PartitionedRateLimiter<string> limiter = PartitionedRateLimiter.Create<string, string>(model =>
        RateLimitPartition.GetConcurrencyLimiter(model, _ => new ConcurrencyLimiterOptions { PermitLimit = permitsPerModel, QueueLimit = 0 }));

    /// <summary>Permits for <paramref name="inputs"/> inputs of <paramref name="model"/>; 429 (overloaded) when they are not free.</summary>
    public RateLimitLease Admit(string model, int inputs)
    {
        var lease = limiter.AttemptAcquire(model, inputs);
        if (lease.IsAcquired)
            return lease;
        lease.Dispose();
        throw new ServiceException(ServiceErrorKind.Overloaded,
            $"Model '{model}' is processing as many inputs as it admits.");
    }

    public void Dispose() => limiter.Dispose();
}
