using System.ComponentModel.DataAnnotations;

namespace Service.Api.Hosting;

/// <summary>Where ANNCUR index files live and how builds run ("Indexes" section); validated at start.</summary>
public sealed class IndexesOptions
{
    public const string Section = "Indexes";

    /// <summary>The extension of index files; an index is served under its file name without it.</summary>
    public const string FileExtension = ".anncur";

    /// <summary>
    /// Where builds write index files and from where every *.anncur is loaded at start; empty means the user data
    /// directory (<c>$XDG_DATA_HOME/service/indexes</c>, else <c>~/.local/share/service/indexes</c>), beside the model
    /// cache — never the source tree, which is the content root under <c>dotnet run</c>. The container sets a volume path.
    /// </summary>
    public string Directory { get; set; } = "";

    /// <summary>More index files to load at start; a relative path is looked up under the content root, then beside the app.</summary>
    public List<string> Files { get; set; } = [];

    /// <summary>Names of indexes loaded at start whose failure to load leaves the service ready (/readyz); the others make it unready.</summary>
    public List<string> Optional { get; set; } = [];

    /// <summary>Items per build checkpoint shard: k_q cross-encoder calls of this many items, then one flush to {file}.partial.</summary>
    [Range(1, 1 << 20)] public int ShardSize { get; set; } = 256;

    /// <summary>Most items one POST /v1/indexes may send (the body limit, Limits:MaxRequestBodyBytes, applies too).</summary>
    [Range(1, 100_000_000)] public int MaxItems { get; set; } = 100_000;

    /// <summary>Most anchor queries (k_q) one build may use.</summary>
    [Range(1, 100_000)] public int MaxAnchorQueries { get; set; } = 1000;

    /// <summary>A relative <see cref="Directory"/> is under the content root; an absolute one stands.</summary>
    public string ResolvedDirectory(string contentRoot) => Directory.Length > 0
        ? Path.Combine(contentRoot, Directory)
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "service", "indexes");
}
