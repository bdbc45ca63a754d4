using Service.Models.Torch;
using Service.Training.Diffusion;
using static TorchSharp.torch;

namespace Service.Tests.DiffusionUnet;

public sealed class RandomShiftTests
{
    public RandomShiftTests() => TorchRuntime.EnsureInitialized();

    [Fact]
    public void Apply_MovesEachImageByAtMostSPixels_AndFillsTheBorderWithBackground()
    {
        using var scope = NewDisposeScope();
        // 64 images of 6×6, each with a single bright pixel at (2, 3) on a −1 background.
        var x0 = full([64, 1, 6, 6], RandomShift.Background);
        x0[.., .., 2, 3] = tensor(1f);
        using var generator = new Generator(5);

        var shifted = new RandomShift(2).Apply(x0, generator);

        Assert.Equal(x0.shape, shifted.shape);
        var offsets = new HashSet<(long, long)>();
        for (var i = 0; i < 64; i++)
        {
            var image = shifted[i, 0];
            // One bright pixel each (none falls off: 2 + 2 < 6 and 3 + 2 < 6), the rest background.
            Assert.Equal(1, image.eq(1f).sum().item<long>());
            Assert.Equal(35, image.eq(RandomShift.Background).sum().item<long>());
            var flat = image.flatten().argmax().item<long>();
            var (row, column) = (flat / 6, flat % 6);
            Assert.InRange(row - 2, -2, 2);
            Assert.InRange(column - 3, -2, 2);
            offsets.Add((row - 2, column - 3));
        }
        Assert.True(offsets.Count > 10, $"64 draws from 25 offsets gave only {offsets.Count} distinct ones.");
    }

    [Fact]
    public void Apply_IsAFunctionOfTheGenerator_AndZeroPixelsIsTheIdentity()
    {
        using var scope = NewDisposeScope();
        var x0 = randn([8, 1, 28, 28], generator: new Generator(1));

        var first = new RandomShift(2).Apply(x0, new Generator(7));
        var again = new RandomShift(2).Apply(x0, new Generator(7));
        var none = new RandomShift(0).Apply(x0, new Generator(7));

        Assert.True(first.eq(again).all().item<bool>());
        Assert.False(first.eq(x0).all().item<bool>());
        Assert.True(none.eq(x0).all().item<bool>());
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomShift(-1));
    }
}
