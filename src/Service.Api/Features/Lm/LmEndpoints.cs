using System.ComponentModel;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Api.OpenApi;
using Service.Models.Lm;
using Service.Models.Registry;

namespace Service.Api.Features.Lm;

/// <summary>One demonstration of the task: an input token (x0, x1, …) and the label token it maps to (y0, y1, …).</summary>
public sealed record Demonstration(string? Input, string? Label);

/// <summary>In-context classification by a causal LM, for contexts longer than its window.</summary>
/// <param name="Model">A causal-lm model from GET /v1/models; Lm:DefaultModel when omitted.</param>
/// <param name="Demonstrations">Input → label examples, in order; any number up to Lm:MaxDemonstrations. They are read in chunks of whole demonstrations that fit the window.</param>
/// <param name="Query">The input token whose label is asked for.</param>
/// <param name="Method">nbce (naive Bayes over the chunks), truncate (only the last chunk) or mean (the chunks' probabilities averaged).</param>
/// <param name="Beta">NBCE's β in (β + 1) · pool log p(T | S_k) − β · log p(T), 0 to 100.</param>
/// <param name="Pooling">NBCE's pooling of the chunks: min-entropy (the most certain chunk) or mean.</param>
public sealed record LmClassifyRequest(
    string? Model = null,
    Demonstration[]? Demonstrations = null,
    string? Query = null,
    [property: DefaultValue("nbce")] string Method = "nbce",
    [property: DefaultValue(0.25)] double Beta = 0.25,
    [property: DefaultValue("min-entropy")] string Pooling = "min-entropy") : IExampleProvider
{
    public static object Example => new LmClassifyRequest(
        Demonstrations: [new("x3", "y5"), new("x1", "y2"), new("x6", "y0"), new("x4", "y7"), new("x3", "y5")],
        Query: "x3");
}

/// <param name="Label">A label token.</param>
/// <param name="Probability">p(label | context, query) after the combination.</param>
public sealed record LabelProbability(string Label, double Probability);

/// <param name="Label">The most probable label.</param>
/// <param name="Labels">Every label of the model, most probable first.</param>
/// <param name="Chunks">Windows the context was read in (each with the query).</param>
/// <param name="ChosenChunk">The chunk NBCE's min-entropy pooling took (0-based); absent for other methods.</param>
public sealed record LmClassifyResponse(
    string Model, string Label, LabelProbability[] Labels, string Method, int Chunks,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? ChosenChunk,
    double QueueMs, double InferenceMs);

public static class LmEndpoints
{
    const double MaxBeta = 100;
    static readonly string[] Methods = ["nbce", "truncate", "mean"];
    static readonly string[] Poolings = ["min-entropy", "mean"];

    /// <summary>Maps /v1/lm when Lm:ModelDirectory holds a causal LM (<see cref="LmRegistration.HasModels"/>).</summary>
    public static IEndpointRouteBuilder MapLmEndpoints(this IEndpointRouteBuilder routes)
    {
        if (!LmRegistration.HasModels(routes.ServiceProvider.GetRequiredService<IOptions<LmOptions>>().Value))
            return routes;
        var group = routes.MapGroup("/v1/lm").WithTags("Language model");
        group.MapPost("/classify", Classify)
            .WithSummary("In-context classification past the window, with NBCE or a baseline")
            .WithDescription("The demonstrations are cut into chunks that fit the model's window; each chunk runs with the query in one batch, " +
                "and the chunks' label distributions are combined by NBCE (Su et al., NAACL 2024), truncation or averaging. " +
                "Token names: inputs x0..x{X−1}, labels y0..y{C−1} (GET /v1/models lists each model's window).")
            .ProducesServiceErrors([.. ProblemTable.BodyErrors, .. ProblemTable.InferenceErrors]);
        return routes;
    }

    public static async Task<Ok<LmClassifyResponse>> Classify(
        LmClassifyRequest request, ModelRegistry registry, IOptions<LmOptions> options, CancellationToken cancellation)
    {
        var model = registry.Get<CausalLmModel>(request.Model ?? options.Value.DefaultModel, CausalLmModel.Kind);
        var vocabulary = model.Vocabulary;
        var demonstrations = request.Demonstrations ?? [];
        if (demonstrations.Length > options.Value.MaxDemonstrations)
        {
            throw InputValidation.Invalid($"'demonstrations' has {demonstrations.Length} entries; at most {options.Value.MaxDemonstrations} are allowed.",
                "demonstrations", ("max_demonstrations", options.Value.MaxDemonstrations));
        }
        var pairs = new (int Input, int Label)[demonstrations.Length];
        for (var i = 0; i < demonstrations.Length; i++)
        {
            pairs[i] = (Input(vocabulary, demonstrations[i]?.Input, $"demonstrations[{i}].input"),
                vocabulary.TryParseLabel(demonstrations[i]?.Label, out var label) ? label
                    : throw InputValidation.Invalid($"'demonstrations[{i}].label' must be a label token y0..y{vocabulary.Clusters - 1}; got '{demonstrations[i]?.Label}'.",
                        $"demonstrations[{i}].label"));
        }
        var query = Input(vocabulary, request.Query, "query");
        InputValidation.OneOf(request.Method, Methods, "method");
        InputValidation.OneOf(request.Pooling, Poolings, "pooling");
        // (β + 1)·log p − β·log p(T) overflows to −∞ for every label long before β reaches double's range; the post uses β ≤ 1.
        if (!(request.Beta is >= 0 and <= MaxBeta))
            throw InputValidation.Invalid($"'beta' must be a number from 0 to {MaxBeta}; got {request.Beta}.", "beta");

        var method = request.Method switch { "nbce" => LmCombination.Nbce, "truncate" => LmCombination.Truncate, _ => LmCombination.Mean };
        var pooling = request.Pooling == "mean" ? NbcePooling.Mean : NbcePooling.MinEntropy;
        var result = await model.ClassifyAsync(new ClassifySpec(pairs, query, method, request.Beta, pooling), cancellation);
        var labels = result.Probabilities.Select((p, c) => new LabelProbability(vocabulary.LabelName(c), p))
            .OrderByDescending(l => l.Probability).ToArray();
        return TypedResults.Ok(new LmClassifyResponse(model.Descriptor.Name, labels[0].Label, labels, request.Method, result.Chunks, result.ChosenChunk,
            result.Queue.TotalMilliseconds, result.Inference.TotalMilliseconds));
    }

    static int Input(InContextVocabulary vocabulary, string? text, string field) => vocabulary.TryParseInput(text, out var input)
        ? input
        : throw InputValidation.Invalid($"'{field}' must be an input token x0..x{vocabulary.Inputs - 1}; got '{text}'.", field);

}
