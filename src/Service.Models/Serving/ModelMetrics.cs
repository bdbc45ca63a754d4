using System.Diagnostics.Metrics;

namespace Service.Models.Serving;

/// <summary>Instruments of the model workers, under the meter <c>Service.Models</c>; worker measurements carry a <c>model</c> tag.</summary>
public static class ModelMetrics
{
    public const string MeterName = "Service.Models";
    static readonly Meter Meter = new(MeterName);

    public static readonly Histogram<double> TokenizationSeconds =
        Meter.CreateHistogram<double>("service.model.tokenization.duration", "s", "Time to tokenize one request.");
    public static readonly Histogram<double> QueueSeconds =
        Meter.CreateHistogram<double>("service.model.queue.duration", "s", "Time a job waited for its worker.");
    public static readonly Histogram<double> InferenceSeconds =
        Meter.CreateHistogram<double>("service.model.inference.duration", "s", "Time the model spent on one batch.");
    public static readonly Histogram<int> BatchSequences =
        Meter.CreateHistogram<int>("service.model.batch.size", "{sequence}", "Sequences per model call.");
    public static readonly Histogram<int> BatchTokens =
        Meter.CreateHistogram<int>("service.model.batch.tokens", "{token}", "Padded tokens per model call.");
    public static readonly Histogram<int> InputTokens =
        Meter.CreateHistogram<int>("service.model.input.length", "{token}", "Tokens per input after truncation.");
    public static readonly UpDownCounter<int> QueueDepth =
        Meter.CreateUpDownCounter<int>("service.model.queue.depth", "{job}", "Jobs waiting for a worker.");
    public static readonly Counter<long> CancelledSamplings =
        Meter.CreateCounter<long>("service.model.sampling.cancelled", "{job}", "Diffusion samplings stopped mid-way because the client went away.");
    public static readonly Counter<long> DroppedJobs =
        Meter.CreateCounter<long>("service.model.jobs.dropped", "{job}", "Jobs dropped before inference because the client went away.");
}
