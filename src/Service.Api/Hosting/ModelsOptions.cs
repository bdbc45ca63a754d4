using System.ComponentModel.DataAnnotations;
using Service.Models.Runtime;

namespace Service.Api.Hosting;

/// <summary>Which models load, where, and how their workers batch ("Models" section); validated at start.</summary>
public sealed class ModelsOptions
{
    public const string Section = "Models";

    [Required] public string Default { get; set; } = "all-MiniLM-L6-v2";
    [AllowedValues(ExecutionDevice.Cpu, ExecutionDevice.Cuda)] public string Device { get; set; } = ExecutionDevice.Cpu;
    [Range(0, 64)] public int CudaDeviceId { get; set; }
    /// <summary>ONNX Runtime intra-op threads; 0 lets it use every core.</summary>
    [Range(0, 1024)] public int IntraOpThreads { get; set; }
    /// <summary>Let ONNX Runtime's idle intra-op threads spin; faster only when the model has the cores to itself.</summary>
    public bool AllowSpinning { get; set; }
    /// <summary>Where model files are extracted; empty means the user's local data folder.</summary>
    public string CacheDirectory { get; set; } = "";
    [Range(256, 1 << 20)] public int MaxBatchTokens { get; set; } = 16384;
    [Range(1, 4096)] public int MaxBatchSequences { get; set; } = 64;
    [Range(1, 1 << 16)] public int QueueCapacity { get; set; } = 256;

    public string ResolvedCacheDirectory => CacheDirectory.Length > 0
        ? CacheDirectory
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "service", "models");
}
