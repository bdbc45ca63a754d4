using System.Security.Cryptography;
using System.Text.Json;

namespace Service.Cli.Diffusion;

/// <summary>
/// The finished pieces of a <c>diffusion gamma</c> run (JSON lines), so that an estimate of hours can stop and resume.
/// Every line carries the run's key (the weights' SHA-256, M and the seed): pieces of another run are ignored.
/// </summary>
public sealed class GammaChunks(string path, string key)
{
    public sealed record Chunk(string Key, int First, double[] Gamma, double[] StandardError);

    public static string KeyOf(string weightsPath, int samples, int seed)
    {
        using var file = File.OpenRead(weightsPath);
        return $"{Convert.ToHexStringLower(SHA256.HashData(file))}:M={samples}:seed={seed}";
    }

    /// <summary>This run's finished pieces by their first step.</summary>
    public Dictionary<int, Chunk> Read() =>
        File.Exists(path)
            ? File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<Chunk>(l)!)
                .Where(c => c.Key == key).ToDictionary(c => c.First)
            : [];

    public Chunk Append(int first, double[] gamma, double[] standardError)
    {
        var chunk = new Chunk(key, first, gamma, standardError);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.AppendAllText(path, JsonSerializer.Serialize(chunk) + "\n");
        return chunk;
    }
}
