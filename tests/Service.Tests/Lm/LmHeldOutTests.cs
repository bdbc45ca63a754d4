using Service.Cli.Lm;
using Service.Models.Lm;
using static TorchSharp.torch;

namespace Service.Tests.Lm;

public sealed class LmHeldOutTests
{
    [Fact]
    public void The_prefix_mask_leaves_the_scored_suffix_causal()
    {
        using var scope = NewDisposeScope();
        // <s> x y x y | x y x: 8 tokens, a suffix of 2 items (x y, then the query x) is the last 3 tokens; the prefix is 5.
        var mask = LmHeldOut.Mask("prefix", 8, suffix: 2).data<float>().ToArray();
        bool Sees(int i, int j) => mask[i * 8 + j] == 0;

        Assert.True(Sees(0, 4));   // inside the prefix: both directions
        Assert.True(Sees(4, 0));
        Assert.False(Sees(4, 5));  // the prefix never sees the suffix
        Assert.True(Sees(6, 5));   // the suffix sees the prefix and its own past
        Assert.True(Sees(6, 0));
        Assert.False(Sees(5, 6));  // but not its future
        Assert.Equal(AttentionMasks.Causal(8).data<float>().ToArray(), LmHeldOut.Mask("causal", 8, suffix: 2).data<float>().ToArray());
        Assert.Equal(AttentionMasks.PrefixBidirectional(8, 7).data<float>().ToArray(), LmHeldOut.Mask("prefix", 8).data<float>().ToArray());
    }

    [Fact]
    public void A_step_draws_enough_demonstrations_for_its_suffix()
    {
        var random = new Random(3);
        var counts = Enumerable.Range(0, 2000).Select(_ => LmHeldOut.Demonstrations(random, 16, suffix: 8)).ToList();
        Assert.Equal(7, counts.Min());
        Assert.Equal(16, counts.Max());
        Assert.Equal(0, Enumerable.Range(0, 2000).Select(_ => LmHeldOut.Demonstrations(random, 16, suffix: 1)).Min());
    }
}
