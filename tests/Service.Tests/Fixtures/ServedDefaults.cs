using System.Text.Json;

namespace Service.Tests.Fixtures;

/// <summary>What appsettings.json (copied beside the test binaries) configures: the default cross-encoder and its adapter file.</summary>
public static class ServedDefaults
{
    static readonly JsonElement Settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "appsettings.json"))).RootElement;

    public static string CrossEncoder => Settings.GetProperty("Models").GetProperty("DefaultCrossEncoder").GetString()!;

    /// <summary>The default cross-encoder's adapter path as configured (relative to the app).</summary>
    public static string CrossEncoderPath => Settings.GetProperty("Models").GetProperty("Adapters").EnumerateArray()
        .Single(a => a.GetProperty("Name").GetString() == CrossEncoder).GetProperty("Path").GetString()!;

    public static IReadOnlyList<string> IndexFiles =>
        [.. Settings.GetProperty("Indexes").GetProperty("Files").EnumerateArray().Select(f => f.GetString()!)];
}
