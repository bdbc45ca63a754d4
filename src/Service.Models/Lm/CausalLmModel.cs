using System.Diagnostics;
using Service.Models.Errors;
using Service.Models.Registry;
using Service.Models.Serving;
using Service.Models.Torch;
using static TorchSharp.torch;

namespace Service.Models.Lm;

/// <summary>How the chunks of a context longer than the window are read together (<see cref="ContextCombination"/>).</summary>
public enum LmCombination
{
    /// <summary>NBCE: (β + 1) · pool_k log p(T | S_k) − β · log p(T).</summary>
    Nbce,
    /// <summary>Only the last window's demonstrations.</summary>
    Truncate,
    /// <summary>The chunks' probabilities averaged (PCW-like).</summary>
    Mean,
}

/// <summary>Which attention mask a diagnostic forward pass uses.</summary>
public enum LmMask
{
    /// <summary>The mask the model was trained with: causal, since only causal LMs are served.</summary>
    Model,
    Causal,
    Bidirectional,
}

/// <summary>A classification: demonstrations (input, label) in order, the query input, and how chunks are combined.</summary>
public sealed record ClassifySpec(IReadOnlyList<(int Input, int Label)> Demonstrations, int Query, LmCombination Method, double Beta, NbcePooling Pooling);

/// <summary>p over the C labels [C], the chunks read, the min-entropy chunk NBCE pooled (null otherwise), and the times.</summary>
public sealed record ClassifyResult(double[] Probabilities, int Chunks, int? ChosenChunk, TimeSpan Queue, TimeSpan Inference);

/// <summary>Each layer's attention probabilities, [H, T, T] row-major per layer, for the tokens that were run.</summary>
public sealed record AttentionResult(float[][] Layers, int Heads, int Length, TimeSpan Inference);

/// <summary>
/// A served causal LM (<see cref="CausalLm"/>) with its task's token layout. One owner thread runs every job, since
/// TorchSharp modules stay on the thread that owns them; a classification runs all its chunks and the context-free
/// prior in one batch.
/// </summary>
public sealed class CausalLmModel : IDisposable
{
    public const string Kind = "causal-lm";

    readonly CausalLm network;
    readonly OwnerThreadQueue<Job> queue;
    readonly KeyValuePair<string, object?> modelTag;

    public CausalLmModel(ModelDescriptor descriptor, LmFile file, string weightsPath, int queueCapacity)
    {
        if (file.Training.Mask != "causal")
            throw new InvalidDataException($"Model '{descriptor.Name}' was trained with the {file.Training.Mask} mask; the service runs causal LMs only.");
        TorchRuntime.EnsureInitialized();
        Descriptor = descriptor;
        File = file;
        Vocabulary = file.Vocabulary;
        network = new CausalLm(file.Config);
        try
        {
            network.load(weightsPath);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        network.eval();
        modelTag = new("model", descriptor.Name);
        queue = new OwnerThreadQueue<Job>($"lm:{descriptor.Name}", queueCapacity, reader =>
        {
            while (reader.TryRead(out var job))
                job.Run(this);
        });
    }

    public ModelDescriptor Descriptor { get; }
    public LmFile File { get; }
    public InContextVocabulary Vocabulary { get; }
    public int Window => File.Config.Window;

    public Task<ClassifyResult> ClassifyAsync(ClassifySpec spec, CancellationToken cancellation) =>
        Enqueue(new Job<ClassifyResult>((model, queued) => model.Classify(spec, queued), cancellation));

    /// <summary>One forward pass over <paramref name="tokens"/> (≤ the window) under <paramref name="mask"/>, keeping every layer's attention.</summary>
    public Task<AttentionResult> AttentionAsync(int[] tokens, LmMask mask, CancellationToken cancellation) =>
        Enqueue(new Job<AttentionResult>((model, _) => model.Attention(tokens, mask), cancellation));

    Task<T> Enqueue<T>(Job<T> job)
    {
        if (!queue.TryWrite(job))
            throw new ServiceException(ServiceErrorKind.Overloaded, $"Model '{Descriptor.Name}' has {queue.Count} jobs waiting.");
        job.Completion.CancelWith(job.Cancellation);
        return job.Completion.Task;
    }

    ClassifyResult Classify(ClassifySpec spec, TimeSpan queued)
    {
        var started = Stopwatch.GetTimestamp();
        var chunks = Vocabulary.Chunks(spec.Demonstrations, spec.Query, Window);
        var rows = chunks.Append(Vocabulary.Sequence([], spec.Query)).ToArray(); // the last row is the prior p(T)
        var logs = LabelLogProbabilities(rows); // [n + 1][C]
        var chunkLogs = logs.Take(chunks.Length).ToList();
        var (combined, chosen) = spec.Method switch
        {
            LmCombination.Nbce => (ContextCombination.Nbce(chunkLogs, logs[^1], spec.Beta, spec.Pooling),
                spec.Pooling == NbcePooling.MinEntropy ? ContextCombination.MostCertainChunk(chunkLogs) : (int?)null),
            LmCombination.Truncate => (ContextCombination.Truncation(chunkLogs), (int?)null),
            _ => (ContextCombination.ProbabilityAverage(chunkLogs), (int?)null),
        };
        var inference = Stopwatch.GetElapsedTime(started);
        ModelMetrics.InferenceSeconds.Record(inference.TotalSeconds, modelTag);
        return new ClassifyResult([.. combined.Select(Math.Exp)], chunks.Length, chosen, queued, inference);
    }

    /// <summary>
    /// log p over the C label tokens after each row's last token, renormalised over them: rows of different lengths run
    /// in one batch, right-padded, since under the causal mask a position never sees the padding after it.
    /// </summary>
    double[][] LabelLogProbabilities(int[][] rows)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var length = rows.Max(r => r.Length);
        var ids = new long[rows.Length * length]; // [B, T]; padding with BOS, never read
        for (var b = 0; b < rows.Length; b++)
        {
            Array.Fill(ids, Vocabulary.Begin, b * length, length);
            for (var t = 0; t < rows[b].Length; t++)
                ids[b * length + t] = rows[b][t];
        }
        var logits = network.forward(tensor(ids, [rows.Length, length]), AttentionMasks.Causal(length)); // [B, T, V]
        var last = logits[arange(rows.Length), tensor(rows.Select(r => (long)r.Length - 1).ToArray())]; // [B, V]
        var labels = last.narrow(1, Vocabulary.Inputs, Vocabulary.Clusters).to_type(ScalarType.Float64); // [B, C]
        var log = nn.functional.log_softmax(labels, 1).data<double>().ToArray();
        return [.. Enumerable.Range(0, rows.Length).Select(b => log.AsSpan(b * Vocabulary.Clusters, Vocabulary.Clusters).ToArray())];
    }

    AttentionResult Attention(int[] tokens, LmMask mask)
    {
        var started = Stopwatch.GetTimestamp();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var length = tokens.Length;
        var additive = mask == LmMask.Bidirectional ? AttentionMasks.Bidirectional(length) : AttentionMasks.Causal(length);
        var attention = new List<Tensor>();
        network.Run(tensor(tokens.Select(t => (long)t).ToArray(), [1, length]), additive, attention);
        float[][] layers = [.. attention.Select(a => a[0].contiguous().data<float>().ToArray())]; // each [H, T, T]
        return new AttentionResult(layers, File.Config.Heads, length, Stopwatch.GetElapsedTime(started));
    }

    public void Dispose()
    {
        queue.Dispose();
        network.Dispose();
    }

    abstract class Job(CancellationToken cancellation)
    {
        public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();
        public CancellationToken Cancellation { get; } = cancellation;
        public abstract void Run(CausalLmModel model);
    }

    sealed class Job<T>(Func<CausalLmModel, TimeSpan, T> work, CancellationToken cancellation) : Job(cancellation)
    {
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Run(CausalLmModel model)
        {
            if (Cancellation.IsCancellationRequested)
            {
                Completion.TrySetCanceled(Cancellation);
                return;
            }
            try
            {
                Completion.TrySetResult(work(model, Stopwatch.GetElapsedTime(EnqueuedAt)));
            }
            catch (Exception e)
            {
                Completion.TrySetException(new ServiceException(ServiceErrorKind.InferenceFailed,
                    "The language model failed on this request. It may be retried; if it keeps failing, report it with the trace id.", inner: e));
            }
        }
    }
}
