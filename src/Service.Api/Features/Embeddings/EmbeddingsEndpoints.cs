using System.ComponentModel;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Api.OpenApi;

namespace Service.Api.Features.Embeddings;

/// <summary>OpenAI-style embedding request.</summary>
/// <param name="Input">A string or an array of strings (at most Limits:MaxInputsPerRequest).</param>
/// <param name="Model">An embedding model from GET /v1/models; the default model when omitted.</param>
/// <param name="EncodingFormat">"float" (default) or "base64" (little-endian float32 bytes).</param>
/// <param name="Truncate">Cut inputs at the model's token limit instead of refusing them with 422.</param>
public sealed record EmbeddingsRequest(
    TextInputs Input,
    string? Model = null,
    [property: DefaultValue("float")] string? EncodingFormat = null,
    [property: DefaultValue(false)] bool Truncate = false) : IExampleProvider
{
    public static object Example => new EmbeddingsRequest(new[] { "A man is playing a guitar.", "A woman is slicing an onion." }, "all-MiniLM-L6-v2", "float");
}

public sealed record EmbeddingData(string Object, EmbeddingVector Embedding, int Index);

public sealed record EmbeddingUsage(int PromptTokens, int TotalTokens);

public sealed record EmbeddingsResponse(string Object, EmbeddingData[] Data, string Model, EmbeddingUsage Usage);

/// <summary>TEI-style embedding request.</summary>
/// <param name="Inputs">A string or an array of strings (at most Limits:MaxInputsPerRequest).</param>
/// <param name="Normalize">Scale each vector to unit L2 norm.</param>
/// <param name="Truncate">Cut inputs at the model's token limit instead of refusing them with 422.</param>
/// <param name="Model">An embedding model from GET /v1/models; the default model when omitted.</param>
public sealed record EmbedRequest(
    TextInputs Inputs,
    [property: DefaultValue(true)] bool Normalize = true,
    [property: DefaultValue(false)] bool Truncate = false,
    string? Model = null) : IExampleProvider
{
    public static object Example => new EmbedRequest(new[] { "What is Deep Learning?" });
}

public static class EmbeddingsEndpoints
{
    static readonly string[] EncodingFormats = ["float", "base64"];

    public static IEndpointRouteBuilder MapEmbeddingsEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/").WithTags("Embeddings");
        group.MapPost("/v1/embeddings", CreateEmbeddings)
            .WithSummary("Embed texts (OpenAI shape)")
            .WithDescription("Mean-pooled, L2-normalised sentence embeddings. Inputs longer than the model's token limit are refused with 422.")
            .ProducesServiceErrors([.. ProblemTable.BodyErrors, .. ProblemTable.InferenceErrors]);
        group.MapPost("/embed", Embed)
            .WithSummary("Embed texts (TEI shape)")
            .WithDescription("Returns one vector per input. 'normalize' (default true) scales each to unit length; 'truncate' (default false) cuts inputs at the token limit instead of refusing them.")
            .ProducesServiceErrors([.. ProblemTable.BodyErrors, .. ProblemTable.InferenceErrors]);
        return routes;
    }

    public static async Task<Ok<EmbeddingsResponse>> CreateEmbeddings(
        EmbeddingsRequest request, TextGateway gateway, IOptions<LimitsOptions> limits, HttpContext http)
    {
        var texts = InputValidation.Texts(request.Input?.Items, "input", limits.Value);
        var format = request.EncodingFormat ?? "float";
        if (!EncodingFormats.Contains(format))
            throw InputValidation.Invalid($"'encoding_format' must be one of {string.Join(", ", EncodingFormats)}; got '{format}'.", "encoding_format");

        var output = await gateway.EmbedAsync(http, request.Model, texts, request.Truncate);
        var data = output.Vectors
            .Select((vector, index) => new EmbeddingData("embedding", new EmbeddingVector(vector, format == "base64"), index))
            .ToArray();
        var tokens = output.TokenCounts.Sum();
        return TypedResults.Ok(new EmbeddingsResponse("list", data, output.Model, new EmbeddingUsage(tokens, tokens)));
    }

    public static async Task<Ok<float[][]>> Embed(EmbedRequest request, TextGateway gateway, IOptions<LimitsOptions> limits, HttpContext http)
    {
        var texts = InputValidation.Texts(request.Inputs?.Items, "inputs", limits.Value);
        var output = await gateway.EmbedAsync(http, request.Model, texts, request.Truncate, request.Normalize);
        return TypedResults.Ok(output.Vectors);
    }
}
