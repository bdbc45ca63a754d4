using System.Diagnostics;
using System.Threading.Channels;
using Service.Models.Errors;
using Service.Models.Runtime;

namespace Service.Models.Serving;

/// <summary>Time a job spent waiting and being computed, and how many sequences shared its batch.</summary>
public readonly record struct JobTimings(TimeSpan Queue, TimeSpan Inference, int BatchSequences);

/// <summary>Outputs of one job, in the order its sequences were submitted.</summary>
public sealed record JobResult(float[][] Outputs, JobTimings Timings);

/// <summary>
/// Runs one <see cref="IBatchModel"/> on a dedicated owner thread fed by a bounded queue.
/// Jobs from concurrent callers are merged into batches under a token budget, sorted by length so each
/// model call pads little, and results go back to each caller by index. Jobs whose caller has gone are
/// dropped before they reach the model.
/// </summary>
public sealed class BatchingWorker : IDisposable
{
    readonly IBatchModel model;
    readonly BatchingLimits limits;
    readonly Channel<Job> queue;
    readonly Thread owner;
    readonly KeyValuePair<string, object?> modelTag;

    public BatchingWorker(string name, IBatchModel model, BatchingLimits limits)
    {
        this.model = model;
        this.limits = limits;
        modelTag = new("model", name);
        queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(limits.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        owner = new Thread(Loop) { IsBackground = true, Name = $"model:{name}" };
        owner.Start();
    }

    public int OutputSize => model.OutputSize;

    public int QueueLength => queue.Reader.Count;

    /// <summary>Queues the sequences; fails fast with <see cref="ServiceErrorKind.Overloaded"/> when the queue is full.</summary>
    public Task<JobResult> SubmitAsync(IReadOnlyList<int[]> sequences, CancellationToken cancellation) =>
        SubmitAsync(sequences, tokenTypes: null, cancellation);

    /// <summary>Queues sequences with their token types (row by row, same lengths; null = all 0), e.g. cross-encoder pairs.</summary>
    public Task<JobResult> SubmitAsync(IReadOnlyList<int[]> sequences, IReadOnlyList<int[]>? tokenTypes, CancellationToken cancellation)
    {
        var job = new Job(sequences, tokenTypes, cancellation);
        if (!queue.Writer.TryWrite(job))
        {
            throw new ServiceException(ServiceErrorKind.Overloaded,
                $"The model queue is full ({limits.QueueCapacity} requests waiting).");
        }
        ModelMetrics.QueueDepth.Add(1, modelTag);
        job.Completion.CancelWith(cancellation);
        return job.Completion.Task;
    }

    void Loop()
    {
        var reader = queue.Reader;
        // A dedicated thread may block: the model must never run on a thread-pool thread across an await.
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            var batch = TakeBatch(reader);
            if (batch.Count > 0)
                Execute(batch);
        }
    }

    List<Job> TakeBatch(ChannelReader<Job> reader)
    {
        var batch = new List<Job>();
        int tokens = 0, sequences = 0;
        while (reader.TryPeek(out var job))
        {
            if (job.Cancellation.IsCancellationRequested)
            {
                reader.TryRead(out _);
                ModelMetrics.QueueDepth.Add(-1, modelTag);
                ModelMetrics.DroppedJobs.Add(1, modelTag);
                job.Completion.TrySetCanceled(job.Cancellation);
                continue;
            }
            if (batch.Count > 0 && (tokens + job.Tokens > limits.MaxBatchTokens || sequences + job.Sequences.Count > limits.MaxBatchSequences))
                break;
            reader.TryRead(out _);
            ModelMetrics.QueueDepth.Add(-1, modelTag);
            batch.Add(job);
            tokens += job.Tokens;
            sequences += job.Sequences.Count;
        }
        return batch;
    }

    void Execute(List<Job> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var rows = batch
            .SelectMany(job => job.Sequences.Select((ids, index) => (Job: job, Index: index, Ids: ids, Types: job.TokenTypes?[index])))
            .OrderBy(row => row.Ids.Length)
            .ToArray();
        var outputs = batch.ToDictionary(job => job, job => new float[job.Sequences.Count][]);
        try
        {
            foreach (var call in limits.ModelCalls(rows.Select(row => row.Ids.Length).ToArray()))
            {
                var chunk = rows[call];
                var output = new float[chunk.Length * model.OutputSize]; // [B, OutputSize]
                var types = chunk.All(row => row.Types is null) ? null : chunk.Select(row => row.Types ?? new int[row.Ids.Length]).ToArray();
                model.Run(chunk.Select(row => row.Ids).ToArray(), types, output);
                ModelMetrics.BatchSequences.Record(chunk.Length, modelTag);
                ModelMetrics.BatchTokens.Record(chunk.Length * chunk[^1].Ids.Length, modelTag);
                for (var i = 0; i < chunk.Length; i++)
                    outputs[chunk[i].Job][chunk[i].Index] = output.AsSpan(i * model.OutputSize, model.OutputSize).ToArray();
            }
        }
        catch (Exception e)
        {
            foreach (var job in batch)
                job.Completion.TrySetException(new ServiceException(ServiceErrorKind.InferenceFailed,
                    "The model failed on this batch. The request may be retried; if it keeps failing, report it with the trace id.", inner: e));
            return;
        }

        var inference = Stopwatch.GetElapsedTime(started);
        ModelMetrics.InferenceSeconds.Record(inference.TotalSeconds, modelTag);
        foreach (var job in batch)
        {
            var queued = Stopwatch.GetElapsedTime(job.EnqueuedAt, started);
            ModelMetrics.QueueSeconds.Record(queued.TotalSeconds, modelTag);
            job.Completion.TrySetResult(new JobResult(outputs[job], new JobTimings(queued, inference, rows.Length)));
        }
    }

    public void Dispose()
    {
        queue.Writer.TryComplete();
        owner.Join();
        model.Dispose();
    }

    sealed class Job(IReadOnlyList<int[]> sequences, IReadOnlyList<int[]>? tokenTypes, CancellationToken cancellation)
    {
        public IReadOnlyList<int[]> Sequences { get; } = sequences;
        public IReadOnlyList<int[]>? TokenTypes { get; } = tokenTypes;
        public CancellationToken Cancellation { get; } = cancellation;
        public int Tokens { get; } = sequences.Sum(s => s.Length);
        public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();
        public TaskCompletionSource<JobResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
