using System.ComponentModel.DataAnnotations;

namespace Service.Api.Hosting;

/// <summary>Diffusion models and sampling limits ("Diffusion" section); validated at start.</summary>
public sealed class DiffusionOptions
{
    public const string Section = "Diffusion";

    /// <summary>The model used when a request names none.</summary>
    [Required] public string DefaultModel { get; set; } = "gmm-2d";
    [Range(1, 1024)] public int MaxSamplesPerRequest { get; set; } = 64;
    /// <summary>Sampling jobs waiting per model before 429.</summary>
    [Range(1, 4096)] public int QueueCapacity { get; set; } = 16;
    /// <summary>Data rows for the Monte Carlo Γ of the closed-form reference models.</summary>
    [Range(10, 100_000)] public int ReferenceGammaSamples { get; set; } = 1000;
    /// <summary>Folder of trained models, one sub-folder each (unet.pt, gamma.json, head-*.pt); empty means models/diffusion beside the app.</summary>
    public string ModelDirectory { get; set; } = "";

    public string ResolvedModelDirectory => ModelDirectory.Length > 0
        ? ModelDirectory
        : Path.Combine(AppContext.BaseDirectory, "models", "diffusion");
}
