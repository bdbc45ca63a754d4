namespace Service.Cli;

/// <summary>
/// The generated part of a results page: the text between a begin and an end marker is replaced, the hand-written text
/// around it is kept. A page without the markers gets the block appended; a missing page is created with a title.
/// </summary>
public static class GeneratedBlock
{
    /// <param name="block">The new block, starting with <paramref name="begin"/> and ending with <paramref name="end"/>.</param>
    public static void Write(string path, string title, string begin, string end, string block)
    {
        var existing = File.Exists(path) ? File.ReadAllText(path) : $"# {title}\n\n{begin}\n{end}\n";
        var start = existing.IndexOf(begin, StringComparison.Ordinal);
        var stop = existing.IndexOf(end, StringComparison.Ordinal);
        var updated = start >= 0 && stop > start
            ? existing[..start] + block.TrimEnd('\n') + existing[(stop + end.Length)..]
            : existing.TrimEnd('\n') + "\n\n" + block;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, updated);
    }

    /// <summary>FNV-1a of a string: a sample order that does not depend on the runtime's string hashing.</summary>
    public static ulong StableHash(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
            hash = (hash ^ c) * 1099511628211UL;
        return hash;
    }
}
