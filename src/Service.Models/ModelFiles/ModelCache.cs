namespace Service.Models.ModelFiles;

/// <summary>Where model files embedded in packages are extracted when the host names no folder.</summary>
public static class ModelCache
{
    /// <summary>The user's local data folder: <c>~/.local/share/service/models</c> on Linux.</summary>
    public static string DefaultDirectory =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "service", "models");
}
