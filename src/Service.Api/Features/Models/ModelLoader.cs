using System.Diagnostics;
using Service.Models.Registry;

namespace Service.Api.Features.Models;

/// <summary>Loads the registered models off the start-up path; /readyz turns ready when all have loaded.</summary>
internal sealed class ModelLoader(ModelRegistry registry, ILogger<ModelLoader> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        var started = Stopwatch.GetTimestamp();
        foreach (var (name, error) in registry.LoadAll())
            logger.LogError(error, "Model {Model} failed to load: {Reason}", name, error.Message);
        foreach (var model in registry.List().Where(m => m.Status == ModelStatus.Ready))
            logger.LogInformation("Model {Model} ready on {Device}", model.Descriptor.Name, model.Descriptor.Device);
        logger.LogInformation("Model loading finished in {Elapsed:0.0} s", Stopwatch.GetElapsedTime(started).TotalSeconds);
    }, stoppingToken);
}
