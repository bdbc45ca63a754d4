using System.ComponentModel.DataAnnotations;

namespace Service.Api.Hosting;

/// <summary>Per-request limits and overload behaviour ("Limits" section); validated at start.</summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    [Range(1, 4096)] public int MaxInputsPerRequest { get; set; } = 64;
    [Range(1, 10_000_000)] public int MaxInputCharacters { get; set; } = 20_000;
    [Range(1024, 1L << 30)] public long MaxRequestBodyBytes { get; set; } = 2 * 1024 * 1024;
    /// <summary>Inputs (or pairs) each model admits at once across all requests (one permit per input); beyond it, 429.</summary>
    [Range(1, 1_000_000)] public int MaxConcurrentInputs { get; set; } = 1024;
    [Range(1, 3600)] public int RetryAfterSeconds { get; set; } = 1;
}
