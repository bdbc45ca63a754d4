using System.Text.Json;

namespace Service.Models.Diffusion.Serving;

/// <summary>
/// A model's Monte Carlo Γ table as stored beside its weights (gamma.json): how it was made, Γ_n at index n, and each
/// Γ_n's standard error where it was recorded (tables made before it was are read with none).
/// </summary>
public sealed record GammaTable(int Samples, int Seed, double[] Gamma, double[]? StandardError = null)
{
    /// <summary>The n with Γ_n &gt; 1 by more than <paramref name="errors"/> standard errors; the truth is ≤ 1 on data in [−1, 1].</summary>
    public IReadOnlyList<int> AboveOne(double errors) => StandardError is null
        ? []
        : Enumerable.Range(1, Gamma.Length - 1).Where(n => Gamma[n] > 1 + errors * StandardError[n]).ToList();

    /// <summary>"Γ_n &gt; 1 at … timesteps, by more than one standard error at …, by more than two at …", for reports; needs the standard errors.</summary>
    public string AboveOneSummary() =>
        $"Γ_n > 1 at {AboveOne(0).Count} timesteps, by more than one standard error at {AboveOne(1).Count}, by more than two at {AboveOne(2).Count}";

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
