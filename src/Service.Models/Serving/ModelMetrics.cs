using System.Diagnostics.Metrics;

namespace Service.Models.Serving;

/// <summary>Instruments of the model workers, under the meter <c>Service.Models</c>; worker measurements carry a <c>model</c> tag.</summary>
public static class ModelMetrics
{
    public const string MeterName = "Service.Models";
    static readonly Meter Meter = new(MeterName);

    // Bucket advice, so exporters do not fall back to their millisecond-scaled defaults for second-valued histograms.
    static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    };
    static readonly InstrumentAdvice<int> Sequences = new() { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] };
    static readonly InstrumentAdvice<int> Tokens = new() { HistogramBucketBoundaries = [8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536] };

    public static readonly Histogram<double> TokenizationSeconds =
        Meter.CreateHistogram<double>("service.model.tokenization.duration", "s", "Time to tokenize one request.", advice: Seconds);
    public static readonly Histogram<double> QueueSeconds =
        Meter.CreateHistogram<double>("service.model.queue.duration", "s", "Time a job waited for its worker.", advice: Seconds);
    public static readonly Histogram<double> InferenceSeconds =
        Meter.CreateHistogram<double>("service.model.inference.duration", "s", "Time the model spent on one batch.", advice: Seconds);
    public static readonly Histogram<int> BatchSequences =
        Meter.CreateHistogram<int>("service.model.batch.size", "{sequence}", "Sequences per model call.", advice: Sequences);
    public static readonly Histogram<int> BatchTokens =
        Meter.CreateHistogram<int>("service.model.batch.tokens", "{token}", "Padded tokens per model call.", advice: Tokens);
    public static readonly Histogram<int> InputTokens =
        Meter.CreateHistogram<int>("service.model.input.length", "{token}", "Tokens per input after truncation.", advice: Tokens);
    public static readonly UpDownCounter<int> QueueDepth =
        Meter.CreateUpDownCounter<int>("service.model.queue.depth", "{job}", "Jobs waiting for a worker.");
    public static readonly Counter<long> CancelledSamplings =
        Meter.CreateCounter<long>("service.model.sampling.cancelled", "{job}", "Diffusion samplings stopped mid-way because the client went away.");
    public static readonly Counter<long> DroppedJobs =
        Meter.CreateCounter<long>("service.model.jobs.dropped", "{job}", "Jobs dropped before inference because the client went away.");
}
