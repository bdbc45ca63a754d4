using Service.Models.Text;
using Service.Models.Runtime;
using Service.Models.Serving;
using Service.Models.Text.Adapters;
using Service.Models.Text.Torch;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Service.Tests.TextAdapters;

/// <summary>
/// The serving path (adapter file → merged initializers → ONNX Runtime session with overridden initializers) against
/// the TorchSharp model with the LoRA modules it was exported from.
/// </summary>
public sealed class AdapterParityTests(LoraMiniLmFixture lora, ITestOutputHelper output) : IClassFixture<LoraMiniLmFixture>
{
    static readonly string[] Sentences =
    [
        "A man is playing a guitar.",
        "Stocks fell.",
        "Two dogs run across a snowy field chasing a red ball while their owner watches from a bench.",
    ];

    static readonly string[] Items =
    [
        "Deep learning is a family of machine learning methods based on neural networks.",
        "Cheese.",
        "bank, depository financial institution: a financial institution that accepts deposits and channels the money into lending",
    ];

    static readonly ExecutionDevice Cpu = new(ExecutionDevice.Cpu);

    static double MaxError(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        return expected.Zip(actual, (e, a) => (double)Math.Abs(e - a)).Max();
    }

    [Fact]
    public void Merged_initializers_are_the_transposed_merged_LoRA_weights()
    {
        var merged = lora.BiEncoder.MergedInitializers(lora.Weights);

        Assert.Equal(lora.Lora.Count, merged.Count);
        foreach (var path in new[] { "encoder.layer.0.attention.self.query", "encoder.layer.5.intermediate.dense", "encoder.layer.3.output.dense" })
        {
            var source = lora.Weights.Sources[path + ".weight"];
            var (data, shape) = merged[source.InitializerName];
            Assert.Equal(lora.Weights.Graph.Initializers[source.InitializerName].Dims, shape); // ONNX layout [in, out]
            using var scope = NewDisposeScope();
            var expected = lora.Lora[path].Merge().t().contiguous().data<float>().ToArray();
            Assert.True(MaxError(expected, data) < 1e-6, path);
            Assert.True(MaxError(lora.Weights.Graph.Initializers[source.InitializerName].Floats!, data) > 1e-3, $"{path} changed");
        }
    }

    [Fact]
    public void An_int8_delta_adds_its_row_scaled_codes_to_the_base_weight_in_ONNX_layout()
    {
        const string path = "encoder.layer.1.attention.self.value";
        var source = lora.Weights.Sources[path + ".weight"];
        var baseTransposed = lora.Weights.Graph.Initializers[source.InitializerName].Floats!; // W₀ᵀ [in 384, out 384]
        var codes = Enumerable.Range(0, 384 * 384).Select(i => (float)(i % 255 - 127)).ToArray(); // Q [out, in]
        var scales = Enumerable.Range(0, 384).Select(o => 1e-4f * (o + 1)).ToArray();
        var adapter = new TextAdapter(lora.BiEncoder.Info with { LoraRank = 0 }, new Dictionary<string, (float[] Data, long[] Shape)>
        {
            [path + ".delta_q"] = (codes, [384, 384]),
            [path + ".delta_scale"] = (scales, [384]),
        });

        var (data, shape) = Assert.Single(adapter.MergedInitializers(lora.Weights)).Value;

        Assert.Equal([384L, 384], shape);
        foreach (var (o, i) in new[] { (0, 0), (5, 7), (383, 1), (200, 383) })
            Assert.Equal(baseTransposed[i * 384 + o] + scales[o] * codes[o * 384 + i], data[i * 384 + o], 1e-7f); // W[o, i] at Wᵀ[i, o]
    }

    [Fact]
    public void A_dense_replacement_is_transposed_into_place_and_unknown_or_misshapen_modules_are_refused()
    {
        const string path = "encoder.layer.2.output.dense";
        var weight = Enumerable.Range(0, 384 * 1536).Select(i => (float)Math.Sin(i)).ToArray(); // [out 384, in 1536]
        TextAdapter Dense(string module, long[] shape) => new(
            lora.BiEncoder.Info with { LoraRank = 0 },
            new Dictionary<string, (float[] Data, long[] Shape)> { [module + ".weight"] = (weight, shape) });

        var merged = Dense(path, [384, 1536]).MergedInitializers(lora.Weights);

        var (data, shape) = Assert.Single(merged).Value;
        Assert.Equal([1536L, 384], shape);
        Assert.Equal(weight[5 * 1536 + 7], data[7 * 384 + 5]); // W[o = 5, i = 7] at Wᵀ[7, 5]
        Assert.Contains("not a Linear layer", Assert.Throws<InvalidDataException>(() => Dense("encoder.layer.9.output.dense", [384, 1536]).MergedInitializers(lora.Weights)).Message);
        Assert.Contains("the base model needs [384, 1536]", Assert.Throws<InvalidDataException>(() => Dense(path, [1536, 384]).MergedInitializers(lora.Weights)).Message);
    }

    [Fact]
    public void Onnx_Runtime_with_the_merged_bi_encoder_equals_TorchSharp_with_the_adapters()
    {
        var adapter = TextAdapter.Load(lora.BiEncoderPath);
        using var encoder = new OnnxSentenceEncoder(lora.ModelPath, Cpu, adapter.MergedInitializers(lora.Weights));
        using var baseline = new OnnxSentenceEncoder(lora.ModelPath, Cpu);
        var ids = Sentences.Select(s => lora.Ids(s)).ToArray();
        var actual = new float[Sentences.Length * 384];
        var original = new float[Sentences.Length * 384];

        encoder.Run(ids, null, actual);
        baseline.Run(ids, null, original);

        var expected = lora.Embed(Sentences).SelectMany(v => v).ToArray();
        var error = MaxError(expected, actual);
        var shift = MaxError(original, actual);
        output.WriteLine($"max |ORT merged − TorchSharp LoRA| = {error:E2}; max |adapted − base| = {shift:E2}");
        Assert.True(error < 1e-4, $"max abs error {error}");
        Assert.True(shift > 1e-2, $"the adapter barely changes the embeddings ({shift})");
    }

    [Fact]
    public void Onnx_Runtime_cross_encoder_scores_equal_TorchSharp_with_the_adapters_and_head()
    {
        var adapter = TextAdapter.Load(lora.CrossEncoderPath);
        using var model = new OnnxCrossEncoder(lora.ModelPath, Cpu, adapter.MergedInitializers(lora.Weights), adapter.HeadWeight!, adapter.HeadBias);
        var query = lora.Ids("What is a bank?");
        var pairs = Items.Select(item => TextPair.Encode(query, lora.Ids(item), 256)).ToArray();
        var actual = new float[pairs.Length];

        model.Run(pairs.Select(p => p.Ids).ToArray(), pairs.Select(p => p.Types).ToArray(), actual);

        var expected = lora.Score("What is a bank?", Items);
        var error = MaxError(expected, actual);
        output.WriteLine($"scores {string.Join(", ", actual.Select(s => s.ToString("F4")))}; max |ORT − TorchSharp| = {error:E2}");
        Assert.True(error < 1e-4, $"max abs error {error}");
        Assert.True(actual.Max() - actual.Min() > 1e-3, "a random head still separates the pairs");
    }

    [Fact]
    public async Task Cross_encoder_scores_batched_by_the_worker_equal_scores_one_pair_at_a_time()
    {
        var adapter = TextAdapter.Load(lora.CrossEncoderPath);
        using var worker = new BatchingWorker("test-ce",
            new OnnxCrossEncoder(lora.ModelPath, Cpu, adapter.MergedInitializers(lora.Weights), adapter.HeadWeight!, adapter.HeadBias),
            new BatchingLimits());
        var query = lora.Ids("Where can I deposit money?");
        var pairs = Items.Concat(Sentences).Select(item => TextPair.Encode(query, lora.Ids(item), 256)).ToArray();

        var batched = await worker.SubmitAsync(pairs.Select(p => p.Ids).ToArray(), pairs.Select(p => p.Types).ToArray(), CancellationToken.None);

        Assert.True(pairs.Select(p => p.Ids.Length).Distinct().Count() > 3, "rows of different lengths share the padded batch");
        Assert.Equal(pairs.Length, batched.Timings.BatchSequences);
        for (var i = 0; i < pairs.Length; i++)
        {
            var alone = await worker.SubmitAsync([pairs[i].Ids], [pairs[i].Types], CancellationToken.None);
            Assert.Equal(alone.Outputs[0][0], batched.Outputs[i][0], 1e-5f);
        }
    }
}
