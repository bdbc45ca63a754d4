using System.ComponentModel.DataAnnotations;
using Service.Models.ModelFiles;
using Service.Models.Runtime;
using Service.Models.Serving;
using Service.Models.Text.Adapters;

namespace Service.Api.Hosting;

/// <summary>Which models load, where, and how their workers batch ("Models" section); validated at start.</summary>
public sealed class ModelsOptions : IValidatableObject
{
    public const string Section = "Models";
    static readonly BatchingLimits Batching = new(); // the serving library's defaults, overridden here

    [Required] public string Default { get; set; } = "all-MiniLM-L6-v2";
    [AllowedValues(ExecutionDevice.Cpu, ExecutionDevice.Cuda)] public string Device { get; set; } = ExecutionDevice.Cpu;
    [Range(0, 64)] public int CudaDeviceId { get; set; }
    /// <summary>ONNX Runtime intra-op threads; 0 lets it use every core.</summary>
    [Range(0, 1024)] public int IntraOpThreads { get; set; }
    /// <summary>Let ONNX Runtime's idle intra-op threads spin; faster only when the model has the cores to itself.</summary>
    public bool AllowSpinning { get; set; }
    /// <summary>Where model files are extracted; empty means the user's local data folder.</summary>
    public string CacheDirectory { get; set; } = "";
    [Range(256, 1 << 20)] public int MaxBatchTokens { get; set; } = Batching.MaxBatchTokens;
    [Range(1, 4096)] public int MaxBatchSequences { get; set; } = Batching.MaxBatchSequences;
    [Range(1, 1 << 16)] public int QueueCapacity { get; set; } = Batching.QueueCapacity;
    /// <summary>Fine-tuned all-MiniLM-L6-v2 variants (adapter files), each served under its own name beside the default model.</summary>
    public List<AdapterOptions> Adapters { get; set; } = [];
    /// <summary>The cross-encoder adapter POST /rerank uses when a request names none; empty means requests must name one.</summary>
    public string DefaultCrossEncoder { get; set; } = "";

    public string ResolvedCacheDirectory => CacheDirectory.Length > 0 ? CacheDirectory : ModelCache.DefaultDirectory;

    /// <summary>Each adapter entry, unique names, and a default cross-encoder that is one of them.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var names = new HashSet<string>(StringComparer.Ordinal) { Default };
        for (var i = 0; i < Adapters.Count; i++)
        {
            var adapter = Adapters[i];
            var key = $"{Section}:{nameof(Adapters)}:{i}";
            var results = new List<ValidationResult>();
            if (!Validator.TryValidateObject(adapter, new ValidationContext(adapter), results, validateAllProperties: true))
            {
                foreach (var result in results)
                    yield return new ValidationResult($"{key}: {result.ErrorMessage}", result.MemberNames.Select(m => $"{key}:{m}"));
            }
            else if (!names.Add(adapter.Name))
            {
                yield return new ValidationResult($"{key}:{nameof(AdapterOptions.Name)} '{adapter.Name}' is already the name of another model.", [$"{key}:{nameof(AdapterOptions.Name)}"]);
            }
        }
        if (DefaultCrossEncoder.Length > 0 && !Adapters.Any(a => a.Name == DefaultCrossEncoder && a.Kind == TextAdapter.CrossEncoder))
        {
            yield return new ValidationResult(
                $"{Section}:{nameof(DefaultCrossEncoder)} '{DefaultCrossEncoder}' is not a configured {TextAdapter.CrossEncoder} adapter (Models:Adapters).",
                [nameof(DefaultCrossEncoder)]);
        }
    }
}

/// <summary>One entry of Models:Adapters: a fine-tuned all-MiniLM-L6-v2 served as model <see cref="Name"/>.</summary>
public sealed class AdapterOptions
{
    /// <summary>The model name requests use (<c>"model"</c>) and /v1/models lists.</summary>
    [Required, RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", ErrorMessage = "The Name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.")]
    public string Name { get; set; } = "";

    /// <summary>bi-encoder (served by the embedding routes) or cross-encoder (served by /rerank).</summary>
    [Required, AllowedValues(TextAdapter.BiEncoder, TextAdapter.CrossEncoder)]
    public string Kind { get; set; } = "";

    /// <summary>The adapter's safetensors file; a relative path is looked up under the content root, then beside the app.</summary>
    [Required] public string Path { get; set; } = "";
}
