using System.CommandLine;
using Microsoft.Extensions.Configuration;

namespace Service.Cli.Index;

/// <summary>
/// The service's Models:DefaultCrossEncoder, read from the appsettings.json that the Api project copies beside the CLI,
/// so that index builds, evaluations and benchmarks default to the model the service serves instead of a second copy of its name.
/// </summary>
public static class ServedCrossEncoder
{
    const string Key = "Models:DefaultCrossEncoder";

    public static string Name { get; } = Read();

    /// <summary>The --model option of the commands that score with a cross-encoder, defaulting to <see cref="Name"/>.</summary>
    public static Option<string> ModelOption(string? note = null) => new("--model")
    {
        Description = $"Cross-encoder name from Models:Adapters; default: the service's Models:DefaultCrossEncoder{note}.",
        DefaultValueFactory = _ => Name,
    };

    static string Read()
    {
        var configuration = new ConfigurationBuilder().SetBasePath(AppContext.BaseDirectory).AddJsonFile("appsettings.json").Build();
        var name = configuration[Key];
        return string.IsNullOrEmpty(name)
            ? throw new InvalidOperationException($"{AppContext.BaseDirectory}appsettings.json names no {Key}; pass --model.")
            : name;
    }
}
