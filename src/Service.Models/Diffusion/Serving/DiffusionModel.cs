using System.Diagnostics;
using Service.Models.Errors;
using Service.Models.Registry;
using Service.Models.Serving;
using Service.Models.Diffusion.Trajectories;
using Service.Models.Diffusion.Variances;

namespace Service.Models.Diffusion.Serving;

/// <summary>What a caller asks a diffusion model for; validated by the host against <see cref="DiffusionModel"/>.</summary>
public sealed record SampleSpec(
    int Count, int Steps, TrajectoryRule Trajectory, DiffusionProcess Process, ReverseVariance Variance, double Eta, int Seed);

/// <summary>Samples [Count, d] in [−1, 1] for image models, the trajectory that made them, and the time it took.</summary>
public sealed record SampleResult(float[] Samples, int[] Trajectory, TimeSpan Queue, TimeSpan Sampling);

/// <summary>A step report for streaming clients; <paramref name="PredictedX0"/> is a copy, set only on preview steps.</summary>
public sealed record SampleProgress(DiffusionStep Step, float[]? PredictedX0);

/// <summary>
/// A served diffusion model: ε̂ networks (the backbone, and the same backbone with each covariance head it has),
/// its Γ table, and one owner thread that runs every sampling job in arrival order from a bounded queue.
/// </summary>
public sealed class DiffusionModel : IDisposable
{
    public const string Kind = "diffusion";

    readonly IReadOnlyDictionary<CovarianceHead, IEpsilonModel> networks;
    readonly IDisposable? owned;
    readonly OwnerThreadQueue<Job> queue;
    readonly KeyValuePair<string, object?> modelTag;

    /// <param name="networks">ε̂ per head; must contain <see cref="CovarianceHead.None"/>.</param>
    /// <param name="gamma">Γ [N + 1] estimated once for this model.</param>
    /// <param name="imageShape">(height, width) when each sample is a grey image; null for plain vectors.</param>
    /// <param name="owned">Native resources (e.g. TorchSharp modules) released with the model.</param>
    public DiffusionModel(
        ModelDescriptor descriptor,
        IReadOnlyDictionary<CovarianceHead, IEpsilonModel> networks,
        double[] gamma,
        (int Height, int Width)? imageShape,
        int queueCapacity,
        IDisposable? owned = null)
    {
        Descriptor = descriptor;
        this.networks = networks;
        this.owned = owned;
        Backbone = networks[CovarianceHead.None];
        Gamma = gamma;
        ImageShape = imageShape;
        modelTag = new("model", descriptor.Name);
        Variances = [.. ReverseVariances.All.Where(variance => networks.ContainsKey(variance.Head))];
        queue = new OwnerThreadQueue<Job>($"diffusion:{descriptor.Name}", queueCapacity, reader =>
        {
            while (reader.TryRead(out var job))
                Run(job);
        });
    }

    public ModelDescriptor Descriptor { get; }
    public IEpsilonModel Backbone { get; }
    public NoiseSchedule Schedule => Backbone.Schedule;
    public double[] Gamma { get; }
    public (int Height, int Width)? ImageShape { get; }
    public IReadOnlyList<ReverseVariance> Variances { get; }

    /// <summary>
    /// The σ cap at the step producing x_{τ₁} (in pixels of 2/255), as the official code sets it: 2 for DDPM on the
    /// linear schedule, 1 otherwise; none for data that are not images.
    /// </summary>
    public int ClipPixels(DiffusionProcess process) =>
        ImageShape is null ? 0 : process == DiffusionProcess.Ddpm && Schedule.Name == "linear" ? 2 : 1;

    /// <summary>τ for the request, from this model's schedule and Γ.</summary>
    public int[] TrajectoryFor(TrajectoryRule rule, int steps, DiffusionProcess process, double eta) =>
        rule.Build(new TrajectoryRequest(Schedule, steps, process == DiffusionProcess.Ddpm ? 1 : eta, Gamma, Backbone.DataInUnitBox));

    /// <summary>Queues a sampling job; fails at once with <see cref="ServiceErrorKind.Overloaded"/> when the queue is full.</summary>
    /// <param name="onProgress">Called on the owner thread after each step; keep it cheap.</param>
    /// <param name="previewEvery">Copy x̂₀ into the progress report every this many steps (0: never).</param>
    public Task<SampleResult> SampleAsync(
        SampleSpec spec, Action<SampleProgress>? onProgress, int previewEvery, CancellationToken cancellation)
    {
        var job = new Job(spec, onProgress, previewEvery, cancellation);
        if (!queue.TryWrite(job))
            throw new ServiceException(ServiceErrorKind.Overloaded, $"Model '{Descriptor.Name}' has {queue.Count} sampling jobs waiting.");
        job.Completion.CancelWith(cancellation);
        return job.Completion.Task;
    }

    void Run(Job job)
    {
        var started = Stopwatch.GetTimestamp();
        var queued = Stopwatch.GetElapsedTime(job.EnqueuedAt, started);
        if (job.Cancellation.IsCancellationRequested)
        {
            ModelMetrics.DroppedJobs.Add(1, modelTag);
            job.Completion.TrySetCanceled(job.Cancellation);
            return;
        }
        var spec = job.Spec;
        try
        {
            var tau = TrajectoryFor(spec.Trajectory, spec.Steps, spec.Process, spec.Eta);
            var head = spec.Variance.Head;
            var settings = new DiffusionSamplerSettings(tau, spec.Process, spec.Variance, spec.Eta, Gamma, ClipPixels(spec.Process));
            var random = new Random(spec.Seed);
            var start = new float[spec.Count * Backbone.Dimension]; // x_{τ_K} ~ N(0, I) [B, d]
            GaussianNoise.Fill(random, start);
            var samples = DiffusionSampler.Sample(networks[head], settings, start, random, (step, x0) =>
            {
                if (job.OnProgress is not null)
                {
                    var preview = job.PreviewEvery > 0 && (step.S == 0 || (step.Count - step.K + 1) % job.PreviewEvery == 0);
                    job.OnProgress(new SampleProgress(step, preview ? x0.ToArray() : null));
                }
                return !job.Cancellation.IsCancellationRequested;
            }, job.Cancellation);
            var sampling = Stopwatch.GetElapsedTime(started);
            ModelMetrics.InferenceSeconds.Record(sampling.TotalSeconds, modelTag);
            job.Completion.TrySetResult(new SampleResult(samples, tau, queued, sampling));
        }
        catch (OperationCanceledException)
        {
            ModelMetrics.CancelledSamplings.Add(1, modelTag);
            job.Completion.TrySetCanceled(job.Cancellation);
        }
        catch (Exception e)
        {
            job.Completion.TrySetException(new ServiceException(ServiceErrorKind.InferenceFailed,
                "Sampling failed. The request may be retried; if it keeps failing, report it with the trace id.", inner: e));
        }
    }

    public void Dispose()
    {
        queue.Dispose();
        owned?.Dispose();
    }

    sealed class Job(SampleSpec spec, Action<SampleProgress>? onProgress, int previewEvery, CancellationToken cancellation)
    {
        public SampleSpec Spec { get; } = spec;
        public Action<SampleProgress>? OnProgress { get; } = onProgress;
        public int PreviewEvery { get; } = previewEvery;
        public CancellationToken Cancellation { get; } = cancellation;
        public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();
        public TaskCompletionSource<SampleResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
