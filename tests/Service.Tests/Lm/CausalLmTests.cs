using Service.Models.Lm;
using Service.Models.Torch;
using static TorchSharp.torch;

namespace Service.Tests.Lm;

public sealed class CausalLmTests
{
    static CausalLm Model(int seed = 1)
    {
        TorchRuntime.EnsureInitialized();
        manual_seed(seed);
        var model = new CausalLm(new CausalLmConfig(Vocabulary: 40, Window: 16, Layers: 2, Heads: 2, Width: 32));
        model.eval();
        return model;
    }

    [Fact]
    public void The_default_shape_has_one_to_five_million_parameters()
    {
        TorchRuntime.EnsureInitialized();
        using var model = new CausalLm(new CausalLmConfig(Vocabulary: 128));
        var count = model.parameters().Sum(p => p.numel());
        Assert.InRange(count, 1_000_000, 5_000_000);
    }

    [Fact]
    public void A_causal_position_never_sees_the_future_and_a_bidirectional_one_does()
    {
        using var model = Model();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var a = tensor(new long[] { 1, 5, 7, 9, 11, 13 }).unsqueeze(0);
        var b = tensor(new long[] { 1, 5, 7, 9, 30, 31 }).unsqueeze(0); // differs from position 4 on

        var causal = AttentionMasks.Causal(6);
        var (la, lb) = (model.forward(a, causal), model.forward(b, causal)); // [1, 6, V]
        Assert.Equal(0, (la[.., ..4] - lb[.., ..4]).abs().max().item<float>());
        Assert.True((la[.., 4..] - lb[.., 4..]).abs().max().item<float>() > 1e-4);

        var both = AttentionMasks.Bidirectional(6);
        Assert.True((model.forward(a, both)[.., ..4] - model.forward(b, both)[.., ..4]).abs().max().item<float>() > 1e-4);
    }

    [Fact]
    public void Attention_matrices_follow_their_mask()
    {
        using var model = Model();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var ids = tensor(new long[] { 2, 3, 4, 5, 6 }).unsqueeze(0);
        var attention = new List<Tensor>();

        model.Run(ids, AttentionMasks.PrefixBidirectional(5, prefix: 3), attention);

        Assert.Equal(2, attention.Count);
        var a = attention[0][0, 0]; // [T, T]
        Assert.True(a[0, 2].item<float>() > 0); // inside the prefix, position 0 sees position 2
        Assert.Equal(0, a[3, 4].item<float>()); // after it, no future
        Assert.Equal(1, a.sum(1).mean().item<float>(), 5);
        Assert.Equal(0, AttentionMasks.Causal(4).exp().triu(1).abs().sum().item<float>());
    }

    [Fact]
    public void Rotary_scores_depend_on_the_offset_between_positions_alone()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        manual_seed(3);
        var (cos, sin) = RotaryPositions.Angles(12, 8);
        var q = randn(1, 1, 1, 8).expand(1, 1, 12, 8); // the same query and key at every position
        var k = randn(1, 1, 1, 8).expand(1, 1, 12, 8);
        var scores = RotaryPositions.Rotate(q, cos, sin).matmul(RotaryPositions.Rotate(k, cos, sin).transpose(-2, -1))[0, 0]; // [12, 12]

        Assert.Equal((q[0, 0, 0] * k[0, 0, 0]).sum().item<float>(), scores[5, 5].item<float>(), 4); // offset 0: no rotation
        Assert.Equal(scores[3, 1].item<float>(), scores[9, 7].item<float>(), 4); // offset 2 at two places
        Assert.Equal(scores[2, 6].item<float>(), scores[7, 11].item<float>(), 4);
        Assert.NotEqual(scores[3, 1].item<float>(), scores[3, 2].item<float>(), 3);
    }
}

