using System.ComponentModel;
using System.Numerics.Tensors;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Api.OpenApi;

namespace Service.Api.Features.Rerank;

/// <summary>TEI-style rerank request: each text is scored against the query by a cross-encoder.</summary>
/// <param name="Query">The query every text is paired with ("[CLS] query [SEP] text [SEP]").</param>
/// <param name="Texts">The texts to rank; at most Limits:MaxInputsPerRequest.</param>
/// <param name="RawScores">Return the raw logits instead of sigmoid(logit) in (0, 1).</param>
/// <param name="ReturnText">Echo each text beside its score.</param>
/// <param name="Truncate">Cut a query + text pair at the model's token limit (the text's tokens first) instead of refusing it with 422.</param>
/// <param name="Model">A cross-encoder model from GET /v1/models; Models:DefaultCrossEncoder when omitted.</param>
public sealed record RerankRequest(
    string? Query,
    string?[]? Texts,
    [property: DefaultValue(false)] bool RawScores = false,
    [property: DefaultValue(false)] bool ReturnText = false,
    [property: DefaultValue(false)] bool Truncate = false,
    string? Model = null) : IExampleProvider
{
    public static object Example => new RerankRequest(
        "What is Deep Learning?",
        ["Deep learning is a family of machine learning methods based on neural networks.", "Cheese is made from milk.", "Deep water is cold."]);
}

/// <param name="Index">The text's position in the request.</param>
/// <param name="Score">sigmoid(logit), or the logit with "raw_scores": true.</param>
/// <param name="Text">The text, when "return_text" is true.</param>
public sealed record RerankResult(int Index, float Score, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Text);

public static class RerankEndpoints
{
    public static IEndpointRouteBuilder MapRerankEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/").WithTags("Rerank");
        group.MapPost("/rerank", Rerank)
            .WithSummary("Rank texts by relevance to a query with a cross-encoder (TEI shape)")
            .WithDescription("Returns one entry per text, best first. Scores are sigmoid(logit) unless 'raw_scores' is true. " +
                "A query + text pair longer than the model's token limit is refused with 422 unless 'truncate' is true.")
            .ProducesServiceErrors([.. ProblemTable.BodyErrors, .. ProblemTable.InferenceErrors]);
        return routes;
    }

    public static async Task<Ok<RerankResult[]>> Rerank(RerankRequest request, TextGateway gateway, IOptions<LimitsOptions> limits, HttpContext http)
    {
        var query = InputValidation.Text(request.Query, "query", limits.Value);
        var texts = InputValidation.Texts(request.Texts, "texts", limits.Value);

        var output = await gateway.RerankAsync(http, request.Model, query, texts, request.Truncate);
        var scores = output.Scores;
        if (!request.RawScores)
            TensorPrimitives.Sigmoid(scores, scores);
        var ranked = scores
            .Select((score, index) => new RerankResult(index, score, request.ReturnText ? texts[index] : null))
            .OrderByDescending(result => result.Score) // stable: equal scores keep request order
            .ToArray();
        return TypedResults.Ok(ranked);
    }
}
