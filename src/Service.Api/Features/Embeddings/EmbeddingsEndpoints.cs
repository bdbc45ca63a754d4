using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Api.OpenApi;

namespace Service.Api.Features.Embeddings;

/// <summary>OpenAI-style request: <c>input</c> is a string or an array of strings.</summary>
public sealed record EmbeddingsRequest(TextInputs? Input, string? Model = null, string? EncodingFormat = null) : IExampleProvider
{
    public static object Example => new EmbeddingsRequest(new[] { "A man is playing a guitar.", "A woman is slicing an onion." }, "all-MiniLM-L6-v2", "float");
}

/// <summary><c>embedding</c> is an array of floats, or base64 of little-endian float32 when <c>encoding_format</c> is base64.</summary>
public sealed record EmbeddingData(string Object, object Embedding, int Index);

public sealed record EmbeddingUsage(int PromptTokens, int TotalTokens);

public sealed record EmbeddingsResponse(string Object, EmbeddingData[] Data, string Model, EmbeddingUsage Usage);

/// <summary>TEI-style request.</summary>
public sealed record EmbedRequest(TextInputs? Inputs, bool Normalize = true, bool Truncate = false, string? Model = null) : IExampleProvider
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
        EmbeddingsRequest request, EmbeddingGateway gateway, IOptions<LimitsOptions> limits, HttpContext http)
    {
        var texts = InputValidation.Texts(request.Input?.Items, "input", limits.Value);
        var format = request.EncodingFormat ?? "float";
        if (!EncodingFormats.Contains(format))
            throw InputValidation.Invalid($"'encoding_format' must be one of {string.Join(", ", EncodingFormats)}; got '{format}'.", "encoding_format");

        var output = await gateway.EmbedAsync(http, request.Model, texts);
        var data = output.Vectors
            .Select((vector, index) => new EmbeddingData("embedding", format == "base64" ? ToBase64(vector) : vector, index))
            .ToArray();
        var tokens = output.TokenCounts.Sum();
        return TypedResults.Ok(new EmbeddingsResponse("list", data, output.Model, new EmbeddingUsage(tokens, tokens)));
    }

    public static async Task<Ok<float[][]>> Embed(EmbedRequest request, EmbeddingGateway gateway, IOptions<LimitsOptions> limits, HttpContext http)
    {
        var texts = InputValidation.Texts(request.Inputs?.Items, "inputs", limits.Value);
        var output = await gateway.EmbedAsync(http, request.Model, texts, request.Truncate, request.Normalize);
        return TypedResults.Ok(output.Vectors);
    }

    /// <summary>OpenAI's base64 format: the raw little-endian float32 bytes.</summary>
    static string ToBase64(float[] vector) =>
        Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan()));
}
