using System.ComponentModel.DataAnnotations;

namespace Service.Api.Hosting;

/// <summary>Causal language models ("Lm" section); validated at start.</summary>
public sealed class LmOptions
{
    public const string Section = "Lm";

    /// <summary>The model used when a request names none.</summary>
    [Required] public string DefaultModel { get; set; } = "icl-causal";
    /// <summary>Demonstrations one classification may carry; each window holds (W − 2) / 2 of them.</summary>
    [Range(0, 65_536)] public int MaxDemonstrations { get; set; } = 1024;
    /// <summary>Jobs waiting per model before 429.</summary>
    [Range(1, 4096)] public int QueueCapacity { get; set; } = 64;
    /// <summary>Folder of trained models, one sub-folder each (model.pt + lm.json); empty means models/lm beside the app.</summary>
    public string ModelDirectory { get; set; } = "";

    public string ResolvedModelDirectory => ModelDirectory.Length > 0
        ? ModelDirectory
        : Path.Combine(AppContext.BaseDirectory, "models", "lm");
}
