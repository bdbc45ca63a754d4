namespace Service.Api.Hosting;

/// <summary>How the service finds a file named in its configuration (adapters, index files).</summary>
public static class AppFiles
{
    /// <summary>An absolute path if it exists; a relative one under the content root (dotnet run), else beside the app (published, bin/); null if none exists.</summary>
    public static string? Find(string path, string contentRoot)
    {
        if (Path.IsPathRooted(path))
            return File.Exists(path) ? path : null;
        return new[] { contentRoot, AppContext.BaseDirectory }.Select(root => Path.Combine(root, path)).FirstOrDefault(File.Exists);
    }
}
