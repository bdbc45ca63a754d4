using System.Diagnostics;
using Service.Models.Errors;
using Service.Models.ModelFiles;
using Service.Models.Registry;
using Service.Models.Runtime;
using Service.Models.Serving;
using Service.Models.Text.Adapters;
using Service.Models.Text.Torch;

namespace Service.Models.Text;

/// <summary>The model that answered, one raw score per item in input order, tokens per pair after truncation, and where the time went.</summary>
public sealed record RerankOutput(string Model, float[] Scores, int[] TokenCounts, StageTimings Timings);

/// <summary>
/// A cross-encoder served through a batching worker: tokenize the query and each item → pair them as
/// "[CLS] query [SEP] item [SEP]" (<see cref="TextPair"/>, as in training) → queue → batch → raw score per pair.
/// </summary>
/// <param name="weightsSha256">A digest of the weights served (the adapter file's SHA-256); ANNCUR indexes are valid only for it.</param>
public sealed class CrossEncoderModel(ModelDescriptor descriptor, TextTokenizer tokenizer, BatchingWorker worker, string weightsSha256) : IDisposable
{
    public const string Kind = "cross-encoder";

    public ModelDescriptor Descriptor { get; } = descriptor;

    public string WeightsSha256 { get; } = weightsSha256;

    /// <summary>
    /// all-MiniLM-L6-v2 fine-tuned by a cross-encoder adapter (<see cref="TextAdapter"/>: merged weights plus its head),
    /// served as model <paramref name="name"/>. The loader takes the adapter file's path.
    /// </summary>
    public static (ModelDescriptor Descriptor, Func<string, CrossEncoderModel> Load) MiniLmAdapter(
        string name, string cacheDirectory, ExecutionDevice device, BatchingLimits limits)
    {
        var descriptor = new ModelDescriptor(name, Kind, 1, MiniLmPackage.MaxTokens, device.Name);
        return (descriptor, adapterPath =>
        {
            var (model, tokenizer, weightsSha256) = LoadAdapted(adapterPath, cacheDirectory, device);
            return new CrossEncoderModel(descriptor, tokenizer, new BatchingWorker(name, model, limits), weightsSha256);
        });
    }

    /// <summary>The ONNX Runtime session and tokenizer <see cref="MiniLmAdapter"/> puts behind its worker, and the adapter's hash.</summary>
    public static (OnnxCrossEncoder Model, TextTokenizer Tokenizer, string WeightsSha256) LoadAdapted(
        string adapterPath, string cacheDirectory, ExecutionDevice device)
    {
        var adapted = AdaptedMiniLm.Load(adapterPath, TextAdapter.CrossEncoder, cacheDirectory);
        var tokenizer = TextTokenizer.FromVocabulary(adapted.VocabPath, MiniLmPackage.MaxTokens);
        var model = new OnnxCrossEncoder(adapted.ModelPath, device, adapted.Initializers, adapted.Adapter.HeadWeight!, adapted.Adapter.HeadBias);
        return (model, tokenizer, adapted.AdapterSha256);
    }

    /// <summary>
    /// Scores each item against the query. A pair longer than the token limit is an error naming the item, unless
    /// <paramref name="truncate"/> allows cutting it: the item's tokens go first, then the query's.
    /// </summary>
    public async Task<RerankOutput> ScoreAsync(string query, IReadOnlyList<string> items, bool truncate, CancellationToken cancellation)
    {
        var started = Stopwatch.GetTimestamp();
        var maxTokens = tokenizer.MaxTokens;
        // Texts are cut at the limit here only to bound the work; whether the pair fits is decided on the full counts.
        var queryTokens = tokenizer.Encode(query, truncate: true);
        var ids = new int[items.Count][];
        var types = new int[items.Count][];
        for (var i = 0; i < items.Count; i++)
        {
            var itemTokens = tokenizer.Encode(items[i], truncate: true);
            var total = queryTokens.OriginalTokenCount + itemTokens.OriginalTokenCount - 1; // the item's [CLS] is dropped
            if (total > maxTokens && !truncate)
            {
                throw new ServiceException(
                    ServiceErrorKind.InputTooLong,
                    $"The query with texts[{i}] has {total} tokens; the model accepts at most {maxTokens} per pair. Shorten them or send \"truncate\": true.",
                    new Dictionary<string, object?> { ["input_index"] = i, ["token_count"] = total, ["max_tokens"] = maxTokens });
            }
            (ids[i], types[i]) = TextPair.Encode(queryTokens.Ids, itemTokens.Ids, maxTokens);
            ModelMetrics.InputTokens.Record(ids[i].Length);
        }
        var tokenization = Stopwatch.GetElapsedTime(started);
        ModelMetrics.TokenizationSeconds.Record(tokenization.TotalSeconds);

        var result = await worker.SubmitAsync(ids, types, cancellation);
        return new RerankOutput(
            Descriptor.Name,
            Array.ConvertAll(result.Outputs, output => output[0]),
            Array.ConvertAll(ids, pair => pair.Length),
            new StageTimings(tokenization, result.Timings.Queue, result.Timings.Inference));
    }

    public void Dispose() => worker.Dispose();
}
