using Service.Training.Text;

namespace Service.Tests.TextTorch;

public sealed class RowwiseInt8DeltaTests
{
    [Fact]
    public void Each_row_is_scaled_by_its_largest_change_over_127_and_rounded_to_the_nearest_code()
    {
        // W₀ = 1 everywhere; Δ rows: [0.254, −0.127, 0.0011], [0, 0, 0], [−2, 1, 0.5].
        float[] baseWeight = [1, 1, 1, 1, 1, 1, 1, 1, 1];
        float[] weight = [1.254f, 0.873f, 1.0011f, 1, 1, 1, -1, 2, 1.5f];

        var (codes, scales) = RowwiseInt8Delta.Quantize(weight, baseWeight, 3, 3);

        Assert.Equal(0.254f / 127, scales[0], 1e-6f);
        Assert.Equal(0f, scales[1]); // no change: no scale, zero codes
        Assert.Equal(2f / 127, scales[2], 1e-7f);
        Assert.Equal([127, -64, 1, 0, 0, 0, -127, 64, 32], codes); // −0.127/0.002 = −63.5 → −64 (away from zero); 0.5·63.5 = 31.75 → 32
    }

    [Fact]
    public void Decoding_errs_by_at_most_half_a_scale_on_random_deltas()
    {
        var random = new Random(3);
        const int rows = 16, columns = 40;
        var baseWeight = Enumerable.Range(0, rows * columns).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var weight = baseWeight.Select(w => w + 1e-3f * (float)(random.NextDouble() * 2 - 1)).ToArray();

        var (codes, scales) = RowwiseInt8Delta.Quantize(weight, baseWeight, rows, columns);

        for (var k = 0; k < weight.Length; k++)
        {
            Assert.InRange(codes[k], -127, 127);
            Assert.True(Math.Abs(baseWeight[k] + scales[k / columns] * codes[k] - weight[k]) <= scales[k / columns] / 2 + 1e-7, $"element {k}");
        }
    }
}
