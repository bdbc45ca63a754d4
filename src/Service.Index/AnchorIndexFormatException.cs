namespace Service.Index;

/// <summary>Why an index file was refused.</summary>
public enum AnchorIndexFileError
{
    /// <summary>The file does not start with the magic bytes.</summary>
    NotAnIndex,
    UnsupportedVersion,
    UnsupportedScoreType,

    /// <summary>The file ends before the data its header announces.</summary>
    Truncated,

    /// <summary>The file has bytes past its checksum.</summary>
    TrailingData,
    ChecksumMismatch,

    /// <summary>The index was built with another cross-encoder than the one serving.</summary>
    ModelMismatch,

    /// <summary>Checksum intact but the content is inconsistent (negative counts, repeated ids, non-finite scores).</summary>
    Malformed,
}

/// <summary>An index file that cannot be loaded; nothing of it was used.</summary>
public sealed class AnchorIndexFormatException(string path, AnchorIndexFileError error, string detail, Exception? inner = null)
    : Exception($"Index file '{path}' refused ({error}): {detail}", inner)
{
    public string Path { get; } = path;

    public AnchorIndexFileError Error { get; } = error;
}
