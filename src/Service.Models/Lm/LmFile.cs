using System.Text.Json;
using System.Text.Json.Serialization;

namespace Service.Models.Lm;

/// <summary>Where a served causal LM came from: the run, its length and its final loss.</summary>
public sealed record LmTraining(string Run, int Steps, long Seed, string Mask, string Loss, double WallSeconds, double? FinalLoss);

/// <summary>
/// The sidecar <c>lm.json</c> beside a served causal LM's <c>model.pt</c>: its shape and the task's token layout, which
/// the weights alone do not say, and where it came from.
/// </summary>
public sealed record LmFile(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("config")] CausalLmConfig Config,
    [property: JsonPropertyName("clusters")] int Clusters,
    [property: JsonPropertyName("per_cluster")] int PerCluster,
    [property: JsonPropertyName("training")] LmTraining Training)
{
    public const string CurrentFormat = "causal-lm/1";
    public const string FileName = "lm.json";
    public const string WeightsName = "model.pt";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    [JsonIgnore] public InContextVocabulary Vocabulary => new(Clusters, PerCluster);

    /// <exception cref="InvalidDataException">Not a sidecar this reader understands, or one that contradicts itself.</exception>
    public static LmFile Read(string folder)
    {
        var file = JsonSerializer.Deserialize<LmFile>(File.ReadAllText(Path.Combine(folder, FileName)), Json)
            ?? throw new InvalidDataException($"{FileName} is empty.");
        if (file.Format != CurrentFormat)
            throw new InvalidDataException($"{FileName} says format '{file.Format}'; this reader understands '{CurrentFormat}'.");
        if (file.Config.Vocabulary != file.Vocabulary.Size)
            throw new InvalidDataException($"{FileName}: the model's vocabulary ({file.Config.Vocabulary}) is not the task's ({file.Vocabulary.Size}).");
        return file;
    }

    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, Json) + "\n");
    }
}
