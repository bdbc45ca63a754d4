using System.ComponentModel.DataAnnotations;

namespace Service.Api.Hosting;

/// <summary>Where ANNCUR index files live and how builds run ("Indexes" section); validated at start.</summary>
public sealed class IndexesOptions
{
    public const string Section = "Indexes";

    /// <summary>The extension of index files; an index is served under its file name without it.</summary>
    public const string FileExtension = ".anncur";

    /// <summary>Where builds write index files and from where every *.anncur is loaded at start; empty means data/indexes under the content root.</summary>
    public string Directory { get; set; } = "";

    /// <summary>More index files to load at start; a relative path is looked up under the content root, then beside the app.</summary>
    public List<string> Files { get; set; } = [];

    /// <summary>Items per build checkpoint shard: k_q cross-encoder calls of this many items, then one flush to {file}.partial.</summary>
    [Range(1, 1 << 20)] public int ShardSize { get; set; } = 256;

    /// <summary>Most items one POST /v1/indexes may send (the body limit, Limits:MaxRequestBodyBytes, applies too).</summary>
    [Range(1, 100_000_000)] public int MaxItems { get; set; } = 100_000;

    /// <summary>Most anchor queries (k_q) one build may use.</summary>
    [Range(1, 100_000)] public int MaxAnchorQueries { get; set; } = 1000;

    public string ResolvedDirectory(string contentRoot) =>
        Path.Combine(contentRoot, Directory.Length > 0 ? Directory : Path.Combine("data", "indexes")); // an absolute Directory wins
}
