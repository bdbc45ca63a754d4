using System.ComponentModel.DataAnnotations;

namespace Service.Api.Hosting;

/// <summary>How long a request may run before it is cancelled with 504 ("Timeouts" section).</summary>
public sealed class TimeoutOptions
{
    public const string Section = "Timeouts";

    /// <summary>The policy name of <see cref="LongRequestSeconds"/>.</summary>
    public const string LongPolicy = "long";

    /// <summary>Every route but the long ones. An exhaustive search over Search:MaxExhaustiveItems items fits in it.</summary>
    [Range(1, 3600)] public int RequestSeconds { get; set; } = 60;

    /// <summary>Diffusion sampling (up to 64 samples × 1,000 steps of the UNet) and admin item inserts.</summary>
    [Range(1, 86_400)] public int LongRequestSeconds { get; set; } = 300;
}
