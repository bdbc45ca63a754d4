using Microsoft.Extensions.Configuration;
using Service.Api.Hosting;

namespace Service.Cli.Index;

/// <summary>
/// The service's Models:DefaultCrossEncoder, read from the appsettings.json that the Api project copies beside the CLI,
/// so that index builds, evaluations and benchmarks default to the model the service serves instead of a second copy of its name.
/// </summary>
public static class ServedCrossEncoder
{
    public static string Name { get; } = Read();

    static string Read()
    {
        var configuration = new ConfigurationBuilder().SetBasePath(AppContext.BaseDirectory).AddJsonFile("appsettings.json").Build();
        var name = configuration[$"{ModelsOptions.Section}:{nameof(ModelsOptions.DefaultCrossEncoder)}"];
        return string.IsNullOrEmpty(name)
            ? throw new InvalidOperationException($"{AppContext.BaseDirectory}appsettings.json names no {ModelsOptions.Section}:{nameof(ModelsOptions.DefaultCrossEncoder)}; pass --model.")
            : name;
    }
}
