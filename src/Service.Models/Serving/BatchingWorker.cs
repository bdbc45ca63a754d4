using System.Diagnostics;
using System.Threading.Channels;
using Service.Models.Errors;
using Service.Models.Runtime;
using Service.Models.Text;

namespace Service.Models.Serving;

/// <summary>Time a job spent waiting and being computed, and how many sequences shared its batch.</summary>
public readonly record struct JobTimings(TimeSpan Queue, TimeSpan Inference, int BatchSequences);

/// <summary>Outputs of one job, in the order its sequences were submitted.</summary>
public sealed record JobResult(float[][] Outputs, JobTimings Timings);

/// <summary>
/// Runs one <see cref="IBatchModel"/> on its owner thread, fed by a bounded queue, in two stages as TEI splits its queue
/// from its backend:
/// <list type="number">
/// <item><b>Assembly</b> (its own thread): while the model runs a batch, the jobs that arrive are gathered into the next one
/// under a token budget, their rows sorted by length, cut into model calls (<see cref="BatchingLimits.ModelCalls"/>) and
/// padded (<see cref="PaddedBatch"/>).</item>
/// <item><b>Inference</b> (the owner thread): when the model is free it takes the next batch, tops it up with whatever is
/// still queued (so jobs that arrived meanwhile share it, as they would without the pipeline), and reuses the assembled
/// calls when nothing changed since; results go back to each caller by index, and callers' continuations (JSON writing)
/// run on the thread pool, not here.</item>
/// </list>
/// Jobs whose caller has gone are dropped before they reach the model.
/// </summary>
public sealed class BatchingWorker : IDisposable
{
    readonly IBatchModel model;
    readonly BatchingLimits limits;
    readonly OwnerThreadQueue<Job> queue; // its thread assembles batches
    readonly Thread owner; // the only thread that runs the model
    readonly KeyValuePair<string, object?> modelTag;
    readonly object gate = new(); // the queue's reader, the next batch and its assembled calls (Monitor: the threads wait on it)
    readonly List<Job> next = [];
    int nextTokens, nextSequences, version;
    Assembled? assembled; // the calls of `next` as of `version`
    bool closing;

    public BatchingWorker(string name, IBatchModel model, BatchingLimits limits)
    {
        this.model = model;
        this.limits = limits;
        modelTag = new("model", name);
        queue = new OwnerThreadQueue<Job>($"batcher:{name}", limits.QueueCapacity, Assemble);
        owner = new Thread(RunModel) { IsBackground = true, Name = $"model:{name}" };
        owner.Start();
    }

    public int OutputSize => model.OutputSize;

    public int QueueLength => queue.Count;

    /// <summary>Queues the sequences; fails fast with <see cref="ServiceErrorKind.Overloaded"/> when the queue is full.</summary>
    public Task<JobResult> SubmitAsync(IReadOnlyList<int[]> sequences, CancellationToken cancellation) =>
        SubmitAsync(sequences, tokenTypes: null, cancellation);

    /// <summary>Queues sequences with their token types (row by row, same lengths; null = all 0), e.g. cross-encoder pairs.</summary>
    public Task<JobResult> SubmitAsync(IReadOnlyList<int[]> sequences, IReadOnlyList<int[]>? tokenTypes, CancellationToken cancellation)
    {
        var job = new Job(sequences, tokenTypes, cancellation);
        if (!queue.TryWrite(job))
            throw new ServiceException(ServiceErrorKind.Overloaded, $"The model queue is full ({limits.QueueCapacity} requests waiting).");
        ModelMetrics.QueueDepth.Add(1, modelTag);
        job.Completion.CancelWith(cancellation);
        return job.Completion.Task;
    }

    /// <summary>
    /// Stage 1, on the queue's thread whenever jobs wait: gathers them into the next batch and assembles its calls. A full
    /// batch waits for the model to take it; the jobs behind it stay queued.
    /// </summary>
    void Assemble(ChannelReader<Job> reader)
    {
        List<Job> jobs;
        int seen;
        lock (gate)
        {
            Gather(reader);
            while (next.Count > 0 && assembled?.Version == version && reader.Count > 0 && !closing)
            {
                Monitor.Wait(gate); // assembled and full: wait for the model to take it
                Gather(reader);
            }
            if (next.Count == 0 || assembled?.Version == version)
                return;
            (jobs, seen) = ([.. next], version);
        }
        Assembled? calls;
        try
        {
            calls = Assembled.From(jobs, seen, limits);
        }
        catch (Exception)
        {
            calls = null; // the owner assembles the batch again and fails its jobs with the reason
        }
        lock (gate)
        {
            if (version == seen && calls is not null)
                assembled = calls;
            Monitor.PulseAll(gate); // the owner may be waiting for this batch
        }
    }

    /// <summary>Stage 2, the owner thread: takes each next batch (topped up from the queue) and runs it, until disposed.</summary>
    void RunModel()
    {
        while (true)
        {
            List<Job> jobs;
            Assembled? ready;
            int taken;
            lock (gate)
            {
                Gather(queue.Reader);
                while (next.Count == 0 && !closing)
                {
                    Monitor.Wait(gate);
                    Gather(queue.Reader);
                }
                if (next.Count == 0)
                    return;
                (jobs, ready, taken) = ([.. next], assembled?.Version == version ? assembled : null, version);
                next.Clear();
                (nextTokens, nextSequences, assembled) = (0, 0, null);
                version++;
                Monitor.PulseAll(gate);
            }
            foreach (var job in jobs.Where(job => job.Cancellation.IsCancellationRequested))
                Drop(job);
            var live = jobs.Where(job => !job.Cancellation.IsCancellationRequested).ToList();
            if (live.Count == 0)
                continue;
            Assembled batch;
            try
            {
                batch = ready is not null && live.Count == jobs.Count ? ready : Assembled.From(live, taken, limits);
            }
            catch (Exception e)
            {
                Fail(live, e);
                continue;
            }
            Execute(batch);
        }
    }

    /// <summary>Moves queued jobs into the next batch while they fit its budget; cancelled ones are dropped. Caller holds <see cref="gate"/>.</summary>
    void Gather(ChannelReader<Job> reader)
    {
        while (reader.TryPeek(out var job))
        {
            if (job.Cancellation.IsCancellationRequested)
            {
                reader.TryRead(out _);
                ModelMetrics.QueueDepth.Add(-1, modelTag);
                Drop(job);
                continue;
            }
            if (next.Count > 0 && (nextTokens + job.Tokens > limits.MaxBatchTokens || nextSequences + job.Sequences.Count > limits.MaxBatchSequences))
                break;
            reader.TryRead(out _);
            ModelMetrics.QueueDepth.Add(-1, modelTag);
            next.Add(job);
            nextTokens += job.Tokens;
            nextSequences += job.Sequences.Count;
            version++;
        }
    }

    void Drop(Job job)
    {
        ModelMetrics.DroppedJobs.Add(1, modelTag);
        job.Completion.TrySetCanceled(job.Cancellation);
    }

    static void Fail(List<Job> jobs, Exception e)
    {
        foreach (var job in jobs)
            job.Completion.TrySetException(new ServiceException(ServiceErrorKind.InferenceFailed,
                "The model failed on this batch. The request may be retried; if it keeps failing, report it with the trace id.", inner: e));
    }

    void Execute(Assembled batch)
    {
        var started = Stopwatch.GetTimestamp();
        var outputs = batch.Jobs.ToDictionary(job => job, job => new float[job.Sequences.Count][]);
        try
        {
            foreach (var call in batch.Calls)
            {
                var output = new float[call.Rows.Length * model.OutputSize]; // [B, OutputSize]
                model.Run(call.Input, output);
                ModelMetrics.BatchSequences.Record(call.Rows.Length, modelTag);
                ModelMetrics.BatchTokens.Record(call.Input.Batch * call.Input.Width, modelTag);
                for (var i = 0; i < call.Rows.Length; i++)
                    outputs[call.Rows[i].Job][call.Rows[i].Index] = output.AsSpan(i * model.OutputSize, model.OutputSize).ToArray();
            }
        }
        catch (Exception e)
        {
            Fail(batch.Jobs, e);
            return;
        }

        var inference = Stopwatch.GetElapsedTime(started);
        ModelMetrics.InferenceSeconds.Record(inference.TotalSeconds, modelTag);
        foreach (var job in batch.Jobs)
        {
            var queued = Stopwatch.GetElapsedTime(job.EnqueuedAt, started);
            ModelMetrics.QueueSeconds.Record(queued.TotalSeconds, modelTag);
            job.Completion.TrySetResult(new JobResult(outputs[job], new JobTimings(queued, inference, batch.Sequences)));
        }
    }

    public void Dispose()
    {
        queue.Dispose(); // the assembler hands over what is queued
        lock (gate)
        {
            closing = true;
            Monitor.PulseAll(gate);
        }
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

    /// <summary>One model call: its padded input and, per row, the job and the index of the sequence within it.</summary>
    sealed record Call(PaddedBatch Input, (Job Job, int Index)[] Rows);

    /// <summary>A batch ready for the model: its jobs, as of <paramref name="Version"/>, and their rows sorted by length and cut into calls.</summary>
    sealed record Assembled(List<Job> Jobs, int Version, Call[] Calls, int Sequences)
    {
        public static Assembled From(List<Job> jobs, int version, BatchingLimits limits)
        {
            var rows = jobs
                .SelectMany(job => job.Sequences.Select((ids, index) => (Job: job, Index: index, Ids: ids, Types: job.TokenTypes?[index])))
                .OrderBy(row => row.Ids.Length)
                .ToArray();
            var calls = limits.ModelCalls(rows.Select(row => row.Ids.Length).ToArray()).Select(range =>
            {
                var chunk = rows[range];
                var types = chunk.All(row => row.Types is null) ? null : chunk.Select(row => row.Types ?? new int[row.Ids.Length]).ToArray();
                return new Call(PaddedBatch.Pad(chunk.Select(row => row.Ids).ToArray(), types), [.. chunk.Select(row => (row.Job, row.Index))]);
            }).ToArray();
            return new Assembled(jobs, version, calls, rows.Length);
        }
    }
}
