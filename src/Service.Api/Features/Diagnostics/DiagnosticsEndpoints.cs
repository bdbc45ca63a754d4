using System.ComponentModel;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Api.OpenApi;
using Service.Models.Diagnostics;

namespace Service.Api.Features.Diagnostics;

/// <summary>Sparsity of vectors sent as numbers, or of a model's outputs for texts.</summary>
/// <param name="Vectors">The vectors to measure; or omit them and send <paramref name="Inputs"/>.</param>
/// <param name="Inputs">Texts whose <paramref name="Target"/> is measured, one result per text.</param>
/// <param name="Model">An embedding model from GET /v1/models for <paramref name="Inputs"/>; the default model when omitted.</param>
/// <param name="Target">What of the model is measured for each text: embeddings (the mean-pooled, L2-normalised vector).</param>
/// <param name="Epsilon">|x_i| ≤ ε counts as zero in the zero fraction; the other measures need no threshold.</param>
public sealed record SparsityRequest(
    double[][]? Vectors = null,
    string?[]? Inputs = null,
    string? Model = null,
    [property: DefaultValue("embeddings")] string Target = "embeddings",
    [property: DefaultValue(0.01)] double Epsilon = 0.01) : IExampleProvider
{
    public static object Example => new SparsityRequest(Vectors: [[1, 1, 1, 1], [0, 0, 3, 0], [0.9, 0.05, 0.02, 0.03]]);
}

/// <summary>Every measure of one vector, each scaled so that larger is sparser (SparsityMeasures).</summary>
public sealed record SparsityMeasuresResult(int Length, double ZeroFraction, double L1L2, double Hoyer, double Entropy, double Gini);

public sealed record SparsityResponse(SparsityMeasuresResult[] Data, double Epsilon, string? Model);

public static class DiagnosticsEndpoints
{
    /// <summary>Entries one vector may have: a row of an attention matrix or an embedding fits many times over.</summary>
    public const int MaxVectorLength = 65_536;

    static readonly string[] Targets = ["embeddings"];

    public static IEndpointRouteBuilder MapDiagnosticsEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/diagnostics").WithTags("Diagnostics");
        group.MapPost("/sparsity", Sparsity)
            .WithSummary("Sparsity measures of vectors, or of a model's embeddings of texts")
            .WithDescription("Zero fraction at ε, l1/l2, Hoyer, entropy and Gini, each in [0, 1] and larger when sparser; " +
                "which axioms of Hurley & Rickard each satisfies is in docs/results/seed-lm.md.")
            .ProducesServiceErrors([.. ProblemTable.BodyErrors, .. ProblemTable.InferenceErrors]);
        return routes;
    }

    public static async Task<Ok<SparsityResponse>> Sparsity(SparsityRequest request, TextGateway gateway, IOptions<LimitsOptions> limits, HttpContext http)
    {
        if (!(request.Epsilon >= 0 && double.IsFinite(request.Epsilon)))
            throw InputValidation.Invalid($"'epsilon' must be a finite number ≥ 0; got {request.Epsilon}.", "epsilon");
        if ((request.Vectors is null) == (request.Inputs is null))
            throw InputValidation.Invalid("Send either 'vectors' (numbers) or 'inputs' (texts), not both and not neither.", request.Vectors is null ? "vectors" : "inputs");
        if (request.Vectors is { } vectors)
        {
            CheckVectors(vectors, limits.Value);
            return TypedResults.Ok(new SparsityResponse([.. vectors.Select(v => Measure(v, request.Epsilon))], request.Epsilon, null));
        }
        if (!Targets.Contains(request.Target))
            throw InputValidation.Invalid($"'target' must be one of {string.Join(", ", Targets)}; got '{request.Target}'.", "target", ("allowed", Targets));
        var texts = InputValidation.Texts(request.Inputs, "inputs", limits.Value);
        var output = await gateway.EmbedAsync(http, request.Model, texts, truncate: false);
        return TypedResults.Ok(new SparsityResponse(
            [.. output.Vectors.Select(v => Measure([.. v.Select(x => (double)x)], request.Epsilon))], request.Epsilon, output.Model));
    }

    static void CheckVectors(double[][] vectors, LimitsOptions limits)
    {
        if (vectors.Length == 0)
            throw InputValidation.Invalid("'vectors' is empty. Send at least one vector.", "vectors");
        if (vectors.Length > limits.MaxInputsPerRequest)
        {
            throw InputValidation.Invalid($"'vectors' has {vectors.Length} vectors; at most {limits.MaxInputsPerRequest} are allowed per request. Split the request.",
                "vectors", ("max_inputs", limits.MaxInputsPerRequest));
        }
        for (var i = 0; i < vectors.Length; i++)
        {
            if (vectors[i] is not { Length: > 0 and <= MaxVectorLength } vector)
                throw InputValidation.Invalid($"'vectors[{i}]' must have 1..{MaxVectorLength} entries.", $"vectors[{i}]");
            if (!vector.All(double.IsFinite))
                throw InputValidation.Invalid($"'vectors[{i}]' holds a value that is not a finite number.", $"vectors[{i}]");
        }
    }

    static SparsityMeasuresResult Measure(double[] x, double epsilon) => new(
        x.Length, SparsityMeasures.ZeroFraction(x, epsilon), SparsityMeasures.L1L2(x), SparsityMeasures.Hoyer(x),
        SparsityMeasures.Entropy(x), SparsityMeasures.Gini(x));
}
