using System.ComponentModel;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Api.OpenApi;
using Service.Models.Diffusion;
using Service.Models.Diffusion.Serving;
using Service.Models.Diffusion.Trajectories;
using Service.Models.Diffusion.Variances;
using Service.Models.Errors;
using Service.Models.Registry;

namespace Service.Api.Features.Diffusion;

/// <summary>A sampling request (JSON body of POST, or the query of the streaming GET).</summary>
/// <param name="Model">A diffusion model from GET /v1/diffusion/models; Diffusion:DefaultModel when omitted.</param>
/// <param name="Count">Samples to draw, 1..Diffusion:MaxSamplesPerRequest.</param>
/// <param name="Steps">K, the number of reverse steps, 1..N.</param>
/// <param name="Trajectory">even | quadratic | optimal (Analytic-DPM's dynamic programme over Γ).</param>
/// <param name="Process">ddpm | ddim.</param>
/// <param name="Variance">fixed-small | fixed-large | ddim | analytic | npr | sn | fixed-small-clipped (npr and sn need a model with that head; GET /v1/diffusion/models lists each model's).</param>
/// <param name="Eta">η ∈ [0, 1] for ddim (0: deterministic); ignored for ddpm.</param>
/// <param name="Seed">Random seed; the same seed and settings give the same samples. Random when omitted.</param>
/// <param name="Format">png (a grid, image models only) | json.</param>
public sealed record DiffusionSampleRequest(
    string? Model = null,
    [property: DefaultValue(16)] int Count = 16,
    [property: DefaultValue(10)] int Steps = 10,
    [property: DefaultValue("even")] string Trajectory = "even",
    [property: DefaultValue("ddpm")] string Process = "ddpm",
    [property: DefaultValue("analytic")] string Variance = "analytic",
    [property: DefaultValue(0.0)] double Eta = 0,
    int? Seed = null,
    [property: DefaultValue("json")] string Format = "json") : IExampleProvider
{
    public static object Example => new DiffusionSampleRequest("gmm-2d", Count: 4, Steps: 10, Variance: "analytic", Seed: 1, Format: "json");
}

public sealed record DiffusionSamplesResponse(
    string Model, int Seed, int[] Trajectory, int Count, int Dimension, int[]? ImageShape, float[][] Samples, double SamplingMs, string? Png);

/// <summary>One reverse step: k counts 1..K in the order the steps run; σ² is averaged over the batch and dimensions.</summary>
public sealed record DiffusionProgressEvent(int Step, int Steps, int T, int S, double Sigma2);

/// <summary>x̂₀ at a step: a PNG grid (base64) for image models, else each sample's first two coordinates, for a scatter.</summary>
public sealed record DiffusionPreviewEvent(
    int Step,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Png,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] float[][]? Points);

public sealed record DiffusionModelInfo(
    string Name, string Schedule, int Steps, int Dimension, int[]? ImageShape, string[] Variances, string[] Trajectories, string[] Processes, string Status);

public sealed record DiffusionModelDetail(DiffusionModelInfo Model, double[] Gamma, double[] AlphaBar);

public static class DiffusionEndpoints
{
    static readonly string[] Processes = ["ddpm", "ddim"];
    static readonly string[] Formats = ["png", "json"];

    public static IEndpointRouteBuilder MapDiffusionEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/diffusion").WithTags("Diffusion");
        group.MapPost("/samples", Sample)
            .WithSummary("Draw samples")
            .WithDescription("Few-step sampling with the analytic (Analytic-DPM) or per-dimension (NPR/SN-DPM) optimal reverse variance, or a fixed baseline. format=png returns an image grid.")
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .ProducesServiceErrors([.. ProblemTable.BodyErrors, ServiceErrorKind.ValidationFailed, ServiceErrorKind.UnknownModel,
                ServiceErrorKind.Overloaded, ServiceErrorKind.NotReady, ServiceErrorKind.InferenceFailed])
            .WithRequestTimeout(TimeoutOptions.LongPolicy);
        group.MapGet("/samples/stream", Stream)
            .WithSummary("Draw samples, streaming progress as server-sent events")
            .WithDescription("Events: 'progress' after every step (step, t, s, σ²), 'preview' every preview_every steps (x̂₀ as a PNG grid, base64, for image models; else each sample's first two coordinates as 'points'), then 'result'. Closing the connection stops sampling.")
            .ProducesServiceErrors(ServiceErrorKind.MalformedRequest, ServiceErrorKind.ValidationFailed, ServiceErrorKind.UnknownModel,
                ServiceErrorKind.Overloaded, ServiceErrorKind.NotReady)
            .WithRequestTimeout(TimeoutOptions.LongPolicy);
        group.MapGet("/models", ListModels).WithSummary("Diffusion models");
        group.MapGet("/models/{name}", GetModel)
            .WithPathExample("name", "gmm-2d")
            .WithSummary("One diffusion model: schedule, N, variances and its Γ table")
            .ProducesServiceErrors(ServiceErrorKind.NotFound);
        return routes;
    }

    public static async Task<Results<FileContentHttpResult, Ok<DiffusionSamplesResponse>>> Sample(
        DiffusionSampleRequest request, ModelRegistry registry, IOptions<DiffusionOptions> options, ApiMetrics metrics, HttpContext http)
    {
        var (model, spec) = Validate(request, registry, options.Value);
        metrics.SamplingRequested(model.Descriptor.Name, request.Process, request.Steps);
        if (request.Format == "png" && model.ImageShape is null)
            throw InputValidation.Invalid($"Model '{model.Descriptor.Name}' draws {model.Backbone.Dimension}-dimensional vectors, not images; use \"format\": \"json\".", "format");

        var result = await model.SampleAsync(spec, onProgress: null, previewEvery: 0, http.RequestAborted);
        http.Response.Headers["x-seed"] = spec.Seed.ToString(CultureInfo.InvariantCulture);
        TimingHeaders.Set(http.Response, "queue", result.Queue);
        TimingHeaders.Set(http.Response, "inference", result.Sampling);
        if (request.Format == "png")
        {
            var (height, width) = model.ImageShape!.Value;
            return TypedResults.File(ImageGrid.ToPng(result.Samples, height, width), "image/png");
        }
        return TypedResults.Ok(ToResponse(model, spec, result, withPng: false));
    }

    public static async Task<ServerSentEventsResult<object>> Stream(
        ModelRegistry registry, IOptions<DiffusionOptions> options, ApiMetrics metrics, HttpContext http,
        string? model = null, int count = 16, int steps = 10, string trajectory = "even", string process = "ddpm",
        string variance = "analytic", double eta = 0, int? seed = null,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "preview_every")] int previewEvery = 0)
    {
        var (diffusion, spec) = Validate(new DiffusionSampleRequest(model, count, steps, trajectory, process, variance, eta, seed), registry, options.Value);
        if (previewEvery < 0)
            throw InputValidation.Invalid("'preview_every' must be ≥ 0 (0: no previews).", "preview_every");
        metrics.SamplingRequested(diffusion.Descriptor.Name, process, steps);

        var events = Channel.CreateUnbounded<SseItem<object>>(new UnboundedChannelOptions { SingleReader = true });
        var sampling = diffusion.SampleAsync(spec, progress =>
        {
            var step = progress.Step.Count - progress.Step.K + 1;
            events.Writer.TryWrite(new SseItem<object>(
                new DiffusionProgressEvent(step, progress.Step.Count, progress.Step.T, progress.Step.S, progress.Step.MeanVariance), "progress"));
            if (progress.PredictedX0 is not { } x0)
                return;
            var preview = diffusion.ImageShape is var (height, width)
                ? new DiffusionPreviewEvent(step, Convert.ToBase64String(ImageGrid.ToPng(x0, height, width)), null)
                : new DiffusionPreviewEvent(step, null, Plane(x0, diffusion.Backbone.Dimension));
            events.Writer.TryWrite(new SseItem<object>(preview, "preview"));
        }, previewEvery, http.RequestAborted);
        _ = sampling.ContinueWith(done =>
        {
            if (done.IsCompletedSuccessfully)
                events.Writer.TryWrite(new SseItem<object>(ToResponse(diffusion, spec, done.Result, withPng: true), "result"));
            events.Writer.TryComplete();
        }, TaskScheduler.Default);
        return TypedResults.ServerSentEvents(events.Reader.ReadAllAsync(http.RequestAborted));
    }

    /// <summary>Each sample's first two coordinates: x̂₀ [count × d] row-major → [count][2].</summary>
    static float[][] Plane(float[] x0, int dimension) =>
        [.. Enumerable.Range(0, x0.Length / dimension).Select(i => new[] { x0[i * dimension], x0[i * dimension + Math.Min(1, dimension - 1)] })];

    public static Ok<DiffusionModelInfo[]> ListModels(ModelRegistry registry) =>
        TypedResults.Ok(registry.List().Where(m => m.Descriptor.Kind == DiffusionModel.Kind).Select(m => Describe(registry, m)).ToArray());

    public static Ok<DiffusionModelDetail> GetModel(string name, ModelRegistry registry)
    {
        var state = registry.List().FirstOrDefault(m => m.Descriptor.Name == name && m.Descriptor.Kind == DiffusionModel.Kind)
            ?? throw new ServiceException(ServiceErrorKind.NotFound, $"No diffusion model '{name}'. GET /v1/diffusion/models lists them.");
        var model = registry.Get<DiffusionModel>(name, DiffusionModel.Kind);
        var alphaBar = Enumerable.Range(0, model.Schedule.Steps + 1).Select(model.Schedule.AlphaBar).ToArray();
        return TypedResults.Ok(new DiffusionModelDetail(Describe(registry, state), model.Gamma, alphaBar));
    }

    static DiffusionModelInfo Describe(ModelRegistry registry, ModelState state)
    {
        var status = state.Status.ToString().ToLowerInvariant();
        if (state.Status != ModelStatus.Ready)
            return new DiffusionModelInfo(state.Descriptor.Name, "", 0, state.Descriptor.Dimensions, null, [], TrajectoryNames, Processes, status);
        var model = registry.Get<DiffusionModel>(state.Descriptor.Name, DiffusionModel.Kind);
        return new DiffusionModelInfo(
            state.Descriptor.Name, model.Schedule.Name, model.Schedule.Steps, model.Backbone.Dimension,
            model.ImageShape is var (h, w) ? [h, w] : null,
            [.. model.Variances.Select(v => v.Name)], TrajectoryNames, Processes, status);
    }

    static (DiffusionModel Model, SampleSpec Spec) Validate(DiffusionSampleRequest request, ModelRegistry registry, DiffusionOptions options)
    {
        var model = registry.Get<DiffusionModel>(request.Model ?? options.DefaultModel, DiffusionModel.Kind);
        var steps = model.Schedule.Steps;
        if (request.Count < 1 || request.Count > options.MaxSamplesPerRequest)
            throw InputValidation.Invalid($"'count' must be 1..{options.MaxSamplesPerRequest}; got {request.Count}.", "count");
        if (request.Steps < 1 || request.Steps > steps)
            throw InputValidation.Invalid($"'steps' (K) must be 1..{steps} for model '{model.Descriptor.Name}'; got {request.Steps}.", "steps");
        InputValidation.OneOf(request.Trajectory, TrajectoryNames, "trajectory");
        InputValidation.OneOf(request.Process, Processes, "process");
        InputValidation.OneOf(request.Format, Formats, "format");
        var missingHead = ReverseVariances.All.FirstOrDefault(v => v.Name == request.Variance && !model.Variances.Contains(v))?.Head;
        InputValidation.OneOf(request.Variance, [.. model.Variances.Select(v => v.Name)], "variance",
            missingHead is { } head ? $" Model '{model.Descriptor.Name}' has no {head.ToString().ToUpperInvariant()} head." : "");
        if (!(request.Eta is >= 0 and <= 1))
            throw InputValidation.Invalid($"'eta' must be in [0, 1]; got {request.Eta}.", "eta");

        var seed = request.Seed ?? Random.Shared.Next();
        var spec = new SampleSpec(request.Count, request.Steps, TrajectoryRules.Find(request.Trajectory),
            DiffusionSamplerSettings.ParseProcess(request.Process), ReverseVariances.Find(request.Variance!), request.Eta, seed);
        return (model, spec);
    }


    static string[] TrajectoryNames => [.. TrajectoryRules.Names];

    static DiffusionSamplesResponse ToResponse(DiffusionModel model, SampleSpec spec, SampleResult result, bool withPng)
    {
        var d = model.Backbone.Dimension;
        var samples = Enumerable.Range(0, spec.Count).Select(i => result.Samples.AsSpan(i * d, d).ToArray()).ToArray();
        var png = withPng && model.ImageShape is var (h, w) ? Convert.ToBase64String(ImageGrid.ToPng(result.Samples, h, w)) : null;
        return new DiffusionSamplesResponse(model.Descriptor.Name, spec.Seed, result.Trajectory, spec.Count, d,
            model.ImageShape is var (height, width) ? [height, width] : null, samples, result.Sampling.TotalMilliseconds, png);
    }
}
