using System.Text.Json;

namespace Service.Models.Diffusion.Serving;

/// <summary>A model's Monte Carlo Γ table as stored beside its weights (gamma.json): how it was made, and Γ_n at index n.</summary>
public sealed record GammaTable(int Samples, int Seed, double[] Gamma)
{
    public const string FileName = "gamma.json";

    /// <summary>Writes gamma.json in the folder of <paramref name="weightsPath"/>; returns its path.</summary>
    public string WriteBeside(string weightsPath)
    {
        var path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weightsPath))!, FileName);
        File.WriteAllText(path, JsonSerializer.Serialize(this));
        return path;
    }

    public static GammaTable Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is missing: run `service-cli diffusion gamma --model <weights>` once for this model.", path);
        return JsonSerializer.Deserialize<GammaTable>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"{path} is empty.");
    }
}
