namespace Service.Api.OpenApi;

/// <summary>
/// Endpoint metadata: the value Swagger UI fills into a path parameter, so that "Try it out" sends a request that
/// succeeds as it stands (for the index routes, on the index that the build example creates).
/// </summary>
public sealed record PathExample(string Parameter, string Value);

public static class PathExampleExtensions
{
    public static RouteHandlerBuilder WithPathExample(this RouteHandlerBuilder builder, string parameter, string value) =>
        builder.WithMetadata(new PathExample(parameter, value));
}
