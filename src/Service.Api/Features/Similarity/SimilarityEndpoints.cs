using System.ComponentModel;
using System.Numerics.Tensors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Api.OpenApi;

namespace Service.Api.Features.Similarity;

/// <param name="SourceSentence">The sentence every other one is compared with.</param>
/// <param name="Sentences">At most Limits:MaxInputsPerRequest sentences.</param>
public sealed record SimilarityInputs(string? SourceSentence, string?[]? Sentences);

/// <summary>TEI-style request: cosine of the source sentence against each sentence.</summary>
/// <param name="Inputs">The source sentence and the sentences to score against it.</param>
/// <param name="Model">An embedding model from GET /v1/models; the default model when omitted.</param>
/// <param name="Truncate">Cut inputs at the model's token limit instead of refusing them with 422.</param>
public sealed record SimilarityRequest(SimilarityInputs Inputs, string? Model = null, [property: DefaultValue(false)] bool Truncate = false) : IExampleProvider
{
    public static object Example => new SimilarityRequest(new SimilarityInputs(
        "A man is playing a guitar.",
        ["A person plays an instrument.", "A chef is cooking pasta.", "Someone strums a guitar on stage."]));
}

/// <summary>Cosine similarity of each [a, b] pair.</summary>
/// <param name="Pairs">Arrays of exactly two strings; at most Limits:MaxInputsPerRequest pairs.</param>
/// <param name="Model">An embedding model from GET /v1/models; the default model when omitted.</param>
/// <param name="Truncate">Cut inputs at the model's token limit instead of refusing them with 422.</param>
public sealed record PairsRequest(string?[]?[] Pairs, string? Model = null, [property: DefaultValue(false)] bool Truncate = false) : IExampleProvider
{
    public static object Example => new PairsRequest([
        ["A man is playing a guitar.", "A person plays an instrument."],
        ["A man is playing a guitar.", "The stock market fell today."]]);
}

public sealed record PairsResponse(float[] Scores, string Model);

public static class SimilarityEndpoints
{
    public static IEndpointRouteBuilder MapSimilarityEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/").WithTags("Similarity");
        group.MapPost("/similarity", Similarity)
            .WithSummary("Cosine similarity of one sentence to many (TEI shape)")
            .ProducesServiceErrors([.. ProblemTable.BodyErrors, .. ProblemTable.InferenceErrors]);
        group.MapPost("/v1/similarity/pairs", Pairs)
            .WithSummary("Cosine similarity of sentence pairs")
            .WithDescription("Each pair is an array of exactly two strings; at most Limits:MaxInputsPerRequest pairs.")
            .ProducesServiceErrors([.. ProblemTable.BodyErrors, .. ProblemTable.InferenceErrors]);
        return routes;
    }

    public static async Task<Ok<float[]>> Similarity(SimilarityRequest request, TextGateway gateway, IOptions<LimitsOptions> limits, HttpContext http)
    {
        var source = InputValidation.Text(request.Inputs?.SourceSentence, "inputs.source_sentence", limits.Value);
        var sentences = InputValidation.Texts(request.Inputs?.Sentences, "inputs.sentences", limits.Value);
        var output = await gateway.EmbedAsync(http, request.Model, [source, .. sentences], request.Truncate);
        var vectors = output.Vectors;
        return TypedResults.Ok(vectors[1..].Select(v => TensorPrimitives.Dot(vectors[0], v)).ToArray());
    }

    public static async Task<Ok<PairsResponse>> Pairs(PairsRequest request, TextGateway gateway, IOptions<LimitsOptions> limits, HttpContext http)
    {
        var pairs = request.Pairs;
        if (pairs is null || pairs.Length == 0)
            throw InputValidation.Invalid("'pairs' is empty. Send at least one [a, b] pair.", "pairs");
        if (pairs.Length > limits.Value.MaxInputsPerRequest)
        {
            throw InputValidation.Invalid($"'pairs' has {pairs.Length} pairs; at most {limits.Value.MaxInputsPerRequest} are allowed per request. Split the request.",
                "pairs", ("max_inputs", limits.Value.MaxInputsPerRequest));
        }
        var texts = new string[2 * pairs.Length];
        for (var i = 0; i < pairs.Length; i++)
        {
            if (pairs[i] is not { Length: 2 } pair)
                throw InputValidation.Invalid($"'pairs[{i}]' must be an array of exactly two strings.", $"pairs[{i}]");
            texts[2 * i] = InputValidation.Text(pair[0], $"pairs[{i}][0]", limits.Value);
            texts[2 * i + 1] = InputValidation.Text(pair[1], $"pairs[{i}][1]", limits.Value);
        }

        var output = await gateway.EmbedAsync(http, request.Model, texts, request.Truncate);
        var scores = Enumerable.Range(0, pairs.Length)
            .Select(i => TensorPrimitives.Dot(output.Vectors[2 * i], output.Vectors[2 * i + 1]))
            .ToArray();
        return TypedResults.Ok(new PairsResponse(scores, output.Model));
    }
}
