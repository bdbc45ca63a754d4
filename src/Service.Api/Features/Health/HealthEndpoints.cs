using Service.Api.Features.Indexes;
using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Api.Features.Models;
using Service.Api.Hosting;
using Service.Models.Errors;
using Service.Models.Registry;

namespace Service.Api.Features.Health;

public sealed record LiveResponse(string Status);

public sealed record ReadyResponse(string Status, ModelInfo[] Models);

public sealed record ServiceInfo(
    string Name, string Version, string DefaultModel, string Runtime, string OnnxRuntime, ModelInfo[] Models, LimitsOptions Limits);

public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/").WithTags("Health");
        group.MapGet("/healthz", Live).WithSummary("Liveness: the process answers");
        group.MapGet("/readyz", Ready)
            .WithSummary("Readiness: every model has loaded, and every index file loaded at start is ready")
            .ProducesServiceErrors(ServiceErrorKind.NotReady);
        group.MapGet("/info", Info).WithSummary("Service version, runtime, models and limits");
        return routes;
    }

    public static Ok<LiveResponse> Live() => TypedResults.Ok(new LiveResponse("live"));

    public static Ok<ReadyResponse> Ready(ModelRegistry registry, IndexCatalog indexes)
    {
        var waiting = registry.List().Where(m => m.Status != ModelStatus.Ready).Select(m => $"{m.Descriptor.Name} ({m.Status.ToString().ToLowerInvariant()})")
            .Concat(indexes.NotReady()).ToList();
        if (waiting.Count > 0)
            throw new ServiceException(ServiceErrorKind.NotReady, $"Not ready: {string.Join(", ", waiting)}. Retry after the Retry-After interval.");
        return TypedResults.Ok(new ReadyResponse("ready", registry.List().Select(ModelsEndpoints.ToInfo).ToArray()));
    }

    public static Ok<ServiceInfo> Info(ModelRegistry registry, IOptions<LimitsOptions> limits) => TypedResults.Ok(new ServiceInfo(
        "service",
        typeof(HealthEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
        registry.DefaultModel,
        RuntimeInformation.FrameworkDescription,
        typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString() ?? "unknown",
        registry.List().Select(ModelsEndpoints.ToInfo).ToArray(),
        limits.Value));
}
