using System.Diagnostics.Metrics;
using Service.Models.Registry;

namespace Service.Api.Hosting;

/// <summary>
/// Instruments of the HTTP features, under the meter <c>Service.Api</c>: what one request cost (cross-encoder calls per
/// search, reverse steps per sampling) and the load state of every registered model.
/// </summary>
/// <remarks>
/// Created from the host's <see cref="IMeterFactory"/>, so the model-state gauge reads this host's registry. The registry is
/// resolved at the first observation, not here: creating it validates the model options, which must fail at start, not at build.
/// </remarks>
public sealed class ApiMetrics
{
    public const string MeterName = "Service.Api";

    readonly Histogram<int> searchCrossEncoderCalls;
    readonly Histogram<int> diffusionSteps;

    public ApiMetrics(IMeterFactory meters, IServiceProvider services)
    {
        var meter = meters.Create(MeterName);
        searchCrossEncoderCalls = meter.CreateHistogram<int>(
            "service.search.ce_calls", "{call}", "Cross-encoder calls made by one search.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [10, 25, 50, 100, 200, 500, 1000, 2000, 5000, 10000] });
        diffusionSteps = meter.CreateHistogram<int>(
            "service.diffusion.steps", "{step}", "Reverse steps (network evaluations) one sampling request asked for.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 5, 10, 25, 50, 100, 250, 500, 1000] });
        // One series per model and state: 1 for the state the model is in, 0 for the others, as Prometheus state sets do.
        meter.CreateObservableGauge("service.model.state", () => services.GetRequiredService<ModelRegistry>().List().SelectMany(model =>
                Enum.GetValues<ModelStatus>().Select(state => new Measurement<int>(
                    model.Status == state ? 1 : 0,
                    new("model", model.Descriptor.Name), new("state", state.ToString().ToLowerInvariant())))),
            "{model}", "Load state of each registered model (1 = the model is in this state).");
    }

    public void SearchCompleted(string index, string method, int crossEncoderCalls) =>
        searchCrossEncoderCalls.Record(crossEncoderCalls, new("index", index), new("method", method));

    public void SamplingRequested(string model, string process, int steps) =>
        diffusionSteps.Record(steps, new("model", model), new("process", process));
}
