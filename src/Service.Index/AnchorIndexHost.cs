using System.Diagnostics.CodeAnalysis;

namespace Service.Index;

/// <summary>
/// The index a service is serving. A new one replaces it only after loading completely, so a refused file (corrupt, truncated,
/// another model's, unreadable) leaves the previous index serving.
/// </summary>
public sealed class AnchorIndexHost(string expectedModelHash)
{
    AnchorIndex? current;

    public string ExpectedModelHash { get; } = expectedModelHash;

    /// <summary>The serving index; null until the first successful load.</summary>
    public AnchorIndex? Current => Volatile.Read(ref current);

    /// <returns>False, with the reason in <paramref name="error"/>, when the file was refused; <see cref="Current"/> is then unchanged.</returns>
    public bool TryReplace(string path, [NotNullWhen(false)] out Exception? error)
    {
        try
        {
            Volatile.Write(ref current, AnchorIndexFile.Load(path, ExpectedModelHash));
            error = null;
            return true;
        }
        catch (Exception e) when (e is AnchorIndexFormatException or IOException or UnauthorizedAccessException)
        {
            error = e;
            return false;
        }
    }

    /// <summary>Serves an index built in this process.</summary>
    public void Replace(AnchorIndex index)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (!string.Equals(index.Info.ModelHash, ExpectedModelHash, StringComparison.Ordinal))
            throw new ArgumentException($"The index was built with model hash {index.Info.ModelHash}; this host serves {ExpectedModelHash}.", nameof(index));
        Volatile.Write(ref current, index);
    }
}
