using System.Text.Json;
using System.Text.Json.Serialization;

namespace Service.Cli.Diffusion;

/// <summary>One finished cell of the evaluation table, one JSON line in the results file.</summary>
/// <param name="Cell">Key, e.g. <c>fid/ddpm/analytic/even/K10</c> or <c>nll/even/K10</c>.</param>
/// <param name="Metric">fid, nll or floor.</param>
/// <param name="Fid">FID of <paramref name="Count"/> samples against the training split's features.</param>
/// <param name="BitsPerDim">NLL bound in bits/dim by variance (nll cells score every variance on the same draws).</param>
/// <param name="StandardError">Standard error of each bits/dim mean over the test images.</param>
/// <param name="WallSeconds">Time of the whole cell on this machine, resumed parts included.</param>
public sealed record EvaluationCell(
    string Cell,
    string Metric,
    string? Process,
    string? Variance,
    string? Trajectory,
    int K,
    int Count,
    double? Fid,
    Dictionary<string, double>? BitsPerDim,
    Dictionary<string, double>? StandardError,
    double WallSeconds,
    DateTimeOffset FinishedAt);

/// <summary>The append-only results file (JSON lines); a cell present in it is never recomputed.</summary>
public sealed class EvaluationResults(string path)
{
    static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string Path { get; } = path;

    public IReadOnlyList<EvaluationCell> ReadAll() =>
        File.Exists(Path)
            ? File.ReadLines(Path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<EvaluationCell>(l, Json)!).ToList()
            : [];

    public void Append(EvaluationCell cell)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        File.AppendAllText(Path, JsonSerializer.Serialize(cell, Json) + "\n");
    }
}
