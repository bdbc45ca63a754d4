using Microsoft.AspNetCore.Http.HttpResults;
using Service.Models.Registry;

namespace Service.Api.Features.Models;

public sealed record ModelInfo(string Name, string Kind, int Dimensions, int MaxTokens, string Device, string Status, string? Error);

public sealed record ModelList(string Object, ModelInfo[] Data);

public static class ModelsEndpoints
{
    public static IEndpointRouteBuilder MapModelsEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/models").WithTags("Models");
        group.MapGet("/", ListModels)
            .WithSummary("Served models")
            .WithDescription("Every registered model with its kind, output dimensions, token limit, device and load status.");
        return routes;
    }

    public static Ok<ModelList> ListModels(ModelRegistry registry) =>
        TypedResults.Ok(new ModelList("list", registry.List().Select(ToInfo).ToArray()));

    internal static ModelInfo ToInfo(ModelState state) => new(
        state.Descriptor.Name, state.Descriptor.Kind, state.Descriptor.Dimensions, state.Descriptor.MaxTokens,
        state.Descriptor.Device, state.Status.ToString().ToLowerInvariant(), state.Error);
}
