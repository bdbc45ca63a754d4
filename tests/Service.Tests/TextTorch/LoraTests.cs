using Service.Models.Text.Torch;
using Service.Models.Torch;
using TorchSharp;
using static TorchSharp.torch;
using Service.Training;
using Service.Training.Text;

namespace Service.Tests.TextTorch;

/// <summary>LoRA on a tiny random BERT (same code path as MiniLM, a fraction of the cost).</summary>
public sealed class LoraTests
{
    static readonly BertConfig Tiny = new()
    {
        VocabSize = 50, HiddenSize = 16, Layers = 2, Heads = 2, IntermediateSize = 32, MaxPositions = 12,
        HiddenDropout = 0, AttentionDropout = 0,
    };

    static readonly LoraOptions Options = new() { Rank = 4, Alpha = 8, Seed = 3 };

    public LoraTests() => TorchRuntime.EnsureInitialized();

    static (Tensor Ids, Tensor Mask) Batch()
    {
        var ids = tensor(new long[] { 1, 7, 9, 22, 2, 0, 1, 31, 4, 8, 13, 2 }, [2, 6]);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1 }, [2, 6]);
        return (ids, mask);
    }

    static BertEncoder NewEncoder(int seed)
    {
        manual_seed(seed);
        var encoder = new BertEncoder(Tiny);
        encoder.eval();
        return encoder;
    }

    [Fact]
    public void A_fresh_adapter_leaves_the_encoder_output_unchanged_and_keeps_parameter_names()
    {
        using var scope = NewDisposeScope();
        using var encoder = NewEncoder(11);
        var (ids, mask) = Batch();
        var namesBefore = encoder.named_parameters().Select(p => p.name).ToList();
        var before = encoder.forward(ids, mask);

        var adapters = encoder.InjectLora(Options);
        var after = encoder.forward(ids, mask);

        Assert.Equal(2 * 6, adapters.Count);
        Assert.Contains("encoder.layer.1.attention.self.query", adapters.Keys);
        Assert.Contains("encoder.layer.0.output.dense", adapters.Keys);
        Assert.Equal(0f, (after - before).abs().max().item<float>()); // U = 0: exactly the base encoder
        var namesAfter = encoder.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(namesBefore, namesAfter.Where(n => !n.Contains(".lora_")));
        Assert.Contains("encoder.layer.0.intermediate.dense.lora_U", namesAfter);
        Assert.Equal(0f, adapters["encoder.layer.0.attention.self.key"].U.abs().max().item<float>());
        Assert.True(adapters["encoder.layer.0.attention.self.key"].V.abs().max().item<float>() > 0);
    }

    [Fact]
    public void Only_the_adapters_train_and_the_frozen_weights_get_no_gradient()
    {
        using var scope = NewDisposeScope();
        using var encoder = NewEncoder(12);
        var adapters = encoder.InjectLora(Options);
        using var head = nn.Linear(Tiny.HiddenSize, 1); // e.g. a cross-encoder head on [CLS]

        var trainable = encoder.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(2 * 2 * 6, trainable.Count);
        Assert.All(trainable, n => Assert.True(n.EndsWith(".lora_U") || n.EndsWith(".lora_V"), n));
        Assert.All(head.parameters(), p => Assert.True(p.requires_grad));

        var (ids, mask) = Batch();
        var cls = encoder.forward(ids, mask).select(1, 0);
        head.forward(cls).sum().backward();

        foreach (var (name, parameter) in encoder.named_parameters())
        {
            if (parameter.requires_grad)
                Assert.NotNull(parameter.grad);
            else
                Assert.Null(parameter.grad);
        }
        // U starts at 0, so only U has a non-zero gradient on the first step ((α/r) G Vᵀ); V's is (α/r) Uᵀ G = 0.
        var query = adapters["encoder.layer.1.attention.self.query"];
        Assert.True(query.U.grad!.abs().max().item<float>() > 0);
        Assert.Equal(0f, query.V.grad!.abs().max().item<float>());
    }

    [Fact]
    public void Merged_weights_reproduce_the_adapted_forward()
    {
        using var scope = NewDisposeScope();
        using var adapted = NewEncoder(13);
        var adapters = adapted.InjectLora(Options with { Alpha = 12 });
        using (no_grad())
        {
            foreach (var adapter in adapters.Values)
                adapter.U.copy_(randn(adapter.U.shape) * 0.3); // as if trained
        }

        // One layer: y = x (W₀ + (α/r) U V)ᵀ + b.
        var one = adapters["encoder.layer.0.intermediate.dense"];
        Assert.Equal(3.0, one.Scaling);
        var x = randn(5, Tiny.HiddenSize);
        using (no_grad())
        {
            var viaMerge = nn.functional.linear(x, one.Merge(), one.Bias);
            Assert.True((one.forward(x) - viaMerge).abs().max().item<float>() < 1e-5f);
            Assert.True((one.Merge() - one.BaseWeight - one.Delta()).abs().max().item<float>() < 1e-6f);
            Assert.True(one.Delta().abs().max().item<float>() > 1e-3f);
        }

        // The whole encoder: a plain encoder loaded with W₀ + (α/r) U V in place of each adapted weight gives the same states.
        using var merged = NewEncoder(99);
        var source = adapted.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        using (no_grad())
        {
            foreach (var (name, parameter) in merged.named_parameters())
            {
                var module = name[..name.LastIndexOf('.')];
                parameter.copy_(name.EndsWith(".weight") && adapters.TryGetValue(module, out var adapter) ? adapter.Merge() : source[name]);
            }
        }
        var (ids, mask) = Batch();
        using (inference_mode())
        {
            var difference = (adapted.forward(ids, mask) - merged.forward(ids, mask)).abs().max().item<float>();
            Assert.True(difference < 1e-4f, $"max difference {difference}");
        }
    }

    [Fact]
    public void Targets_select_the_layers_and_a_second_injection_is_refused()
    {
        using var encoder = NewEncoder(14);
        var adapters = encoder.InjectLora(Options, BertLinearTargets.Query | BertLinearTargets.Value);
        Assert.Equal(
            ["encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value", "encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value"],
            adapters.Keys.Order());
        Assert.Throws<InvalidOperationException>(() => encoder.InjectLora(Options, BertLinearTargets.Query));
    }
}
