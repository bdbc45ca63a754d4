using System.ComponentModel;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Api.Features.Lm;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Api.OpenApi;
using Service.Models.Diagnostics;
using Service.Models.Lm;
using Service.Models.Registry;

namespace Service.Api.Features.Diagnostics;

/// <summary>Sparsity of vectors sent as numbers, or of a model's outputs for texts.</summary>
/// <param name="Vectors">The vectors to measure; or omit them and send <paramref name="Inputs"/>.</param>
/// <param name="Inputs">Texts whose <paramref name="Target"/> is measured, one result per text.</param>
/// <param name="Model">For embeddings, an embedding model from GET /v1/models (the default model when omitted); for attention, a causal-lm model (Lm:DefaultModel when omitted).</param>
/// <param name="Target">What of the model is measured for each text: embeddings (the mean-pooled, L2-normalised vector), or attention (every row of
/// every head's attention matrix, the measures averaged over the rows; the texts are the causal LM's tokens, e.g. "&lt;s&gt; x3 y7 x5").</param>
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

/// <summary>Attention of a causal LM over a text, with its own mask or another, and the rank of every head's matrix.</summary>
/// <param name="Model">A causal-lm model from GET /v1/models; Lm:DefaultModel when omitted.</param>
/// <param name="Text">Space-separated tokens of the model's vocabulary, e.g. "&lt;s&gt; x3 y7 x5"; at most the model's window.</param>
/// <param name="Mask">model (the mask it was trained with), causal or bidirectional.</param>
/// <param name="Matrices">Also return every attention matrix (texts of at most 32 tokens).</param>
public sealed record AttentionRequest(
    string? Model = null,
    string? Text = null,
    [property: DefaultValue("model")] string Mask = "model",
    [property: DefaultValue(false)] bool Matrices = false) : IExampleProvider
{
    public static object Example => new AttentionRequest(Text: "<s> x3 y5 x1 y2 x6 y0 x3", Mask: "bidirectional");
}

/// <summary>One head's attention matrix A [T, T] and its ranks (MatrixRank).</summary>
/// <param name="Rank">Singular values above σ_max · T · ε.</param>
/// <param name="EffectiveRank">exp of the entropy of σ / ‖σ‖₁.</param>
/// <param name="SingularValues">The largest singular values, descending.</param>
/// <param name="Matrix">A, row by row, when "matrices" is true.</param>
public sealed record HeadAttention(
    int Layer, int Head, int Rank, double EffectiveRank, double StableRank, double[] SingularValues,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] float[][]? Matrix);

public sealed record AttentionResponse(string Model, string Mask, int Tokens, HeadAttention[] Heads, double InferenceMs);

public static class DiagnosticsEndpoints
{
    /// <summary>Entries one vector may have: a row of an attention matrix or an embedding fits many times over.</summary>
    public const int MaxVectorLength = 65_536;

    static readonly string[] Targets = ["embeddings", "attention"];

    public static IEndpointRouteBuilder MapDiagnosticsEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/diagnostics").WithTags("Diagnostics");
        group.MapPost("/sparsity", Sparsity)
            .WithSummary("Sparsity measures of vectors, or of a model's embeddings or attention rows for texts")
            .WithDescription("Zero fraction at ε, l1/l2, Hoyer, entropy and Gini, each in [0, 1] and larger when sparser; " +
                "which axioms of Hurley & Rickard each satisfies is in docs/results/seed-lm.md.")
            .ProducesServiceErrors([.. ProblemTable.BodyErrors, .. ProblemTable.InferenceErrors]);
        if (!LmRegistration.HasModels(routes.ServiceProvider.GetRequiredService<IOptions<LmOptions>>().Value))
            return routes; // the attention diagnostic runs causal LMs only
        group.MapPost("/attention", Attention)
            .WithSummary("Attention matrices of a causal LM and the rank of each head's")
            .WithDescription("Runs the text once under the chosen mask and returns, per layer and head, the numerical rank, the effective rank " +
                "and the top singular values of the attention matrix (\"Why are LLMs decoder-only?\": a causal matrix is triangular with a positive " +
                "diagonal, so its rank is full).")
            .ProducesServiceErrors([.. ProblemTable.BodyErrors, .. ProblemTable.InferenceErrors]);
        return routes;
    }

    public static async Task<Ok<SparsityResponse>> Sparsity(
        SparsityRequest request, TextGateway gateway, ModelRegistry registry, IOptions<LimitsOptions> limits, IOptions<LmOptions> lm, HttpContext http)
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
        if (request.Target == "attention")
        {
            var model = registry.Get<CausalLmModel>(request.Model ?? lm.Value.DefaultModel, CausalLmModel.Kind);
            var results = new List<SparsityMeasuresResult>();
            for (var i = 0; i < texts.Length; i++)
            {
                var tokens = Tokens(model, texts[i], $"inputs[{i}]");
                var attention = await model.AttentionAsync(tokens, LmMask.Model, http.RequestAborted);
                var t = attention.Length;
                var rows = attention.Layers.SelectMany(layer => layer.Chunk(t)).Select(row => Measure([.. row.Select(p => (double)p)], request.Epsilon)).ToList();
                results.Add(new SparsityMeasuresResult(t, rows.Average(r => r.ZeroFraction), rows.Average(r => r.L1L2), rows.Average(r => r.Hoyer),
                    rows.Average(r => r.Entropy), rows.Average(r => r.Gini)));
            }
            return TypedResults.Ok(new SparsityResponse([.. results], request.Epsilon, model.Descriptor.Name));
        }
        var output = await gateway.EmbedAsync(http, request.Model, texts, truncate: false);
        return TypedResults.Ok(new SparsityResponse(
            [.. output.Vectors.Select(v => Measure([.. v.Select(x => (double)x)], request.Epsilon))], request.Epsilon, output.Model));
    }

    /// <summary>Texts up to this many tokens may ask for the matrices themselves.</summary>
    public const int MaxMatrixTokens = 32;

    static readonly string[] Masks = ["model", "causal", "bidirectional"];

    public static async Task<Ok<AttentionResponse>> Attention(
        AttentionRequest request, ModelRegistry registry, IOptions<LmOptions> options, CancellationToken cancellation)
    {
        var model = registry.Get<CausalLmModel>(request.Model ?? options.Value.DefaultModel, CausalLmModel.Kind);
        InputValidation.OneOf(request.Mask, Masks, "mask");
        var tokens = Tokens(model, request.Text, "text");
        if (request.Matrices && tokens.Length > MaxMatrixTokens)
            throw InputValidation.Invalid($"'matrices' is only returned for texts of at most {MaxMatrixTokens} tokens; this one has {tokens.Length}. Shorten it or leave 'matrices' false.", "matrices");

        var mask = request.Mask switch { "causal" => LmMask.Causal, "bidirectional" => LmMask.Bidirectional, _ => LmMask.Model };
        var result = await model.AttentionAsync(tokens, mask, cancellation);
        var t = result.Length;
        var heads = new List<HeadAttention>();
        for (var layer = 0; layer < result.Layers.Length; layer++)
        {
            for (var head = 0; head < result.Heads; head++)
            {
                var matrix = result.Layers[layer].AsSpan(head * t * t, t * t).ToArray(); // [T, T]
                var rank = MatrixRank.Measure(matrix, t);
                heads.Add(new HeadAttention(layer, head, rank.Rank, rank.EffectiveRank, rank.StableRank, rank.SingularValues,
                    request.Matrices ? [.. matrix.Chunk(t)] : null));
            }
        }
        return TypedResults.Ok(new AttentionResponse(model.Descriptor.Name, request.Mask, t, [.. heads], result.Inference.TotalMilliseconds));
    }

    /// <summary>A causal LM's space-separated tokens, refused with what to change when empty, unknown or longer than the window.</summary>
    static int[] Tokens(CausalLmModel model, string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw InputValidation.Invalid($"'{field}' is empty. Send space-separated tokens of the model, e.g. \"<s> x3 y7 x5\".", field);
        if (!model.Vocabulary.TryEncode(text, out var tokens, out var unknown))
        {
            throw InputValidation.Invalid($"'{field}' holds '{unknown}', which is not a token of model '{model.Descriptor.Name}': use x0..x{model.Vocabulary.Inputs - 1}, " +
                $"y0..y{model.Vocabulary.Clusters - 1} and {InContextVocabulary.BeginText}, separated by spaces.", field);
        }
        if (tokens.Length > model.Window)
            throw InputValidation.Invalid($"'{field}' has {tokens.Length} tokens; model '{model.Descriptor.Name}' reads at most {model.Window}.", field, ("max_tokens", model.Window));
        return tokens;
    }

    static void CheckVectors(double[][] vectors, LimitsOptions limits)
    {
        InputValidation.Count(vectors.Length, "vectors", limits, "vector");
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
