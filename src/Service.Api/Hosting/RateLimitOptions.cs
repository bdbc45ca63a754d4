using System.ComponentModel.DataAnnotations;

namespace Service.Api.Hosting;

/// <summary>Per-client request rate limit ("RateLimit" section): a token bucket per API key, else per client IP.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimit";

    public bool Enabled { get; set; } = true;

    /// <summary>Sustained requests per second one client may send.</summary>
    [Range(1, 1_000_000)] public int PermitsPerSecond { get; set; } = 100;

    /// <summary>Requests a client may send at once after a quiet period (the bucket's size).</summary>
    [Range(1, 1_000_000)] public int Burst { get; set; } = 200;
}
