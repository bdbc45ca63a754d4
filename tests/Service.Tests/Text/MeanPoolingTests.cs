using Service.Models.Text;

namespace Service.Tests.Text;

public sealed class MeanPoolingTests
{
    [Fact]
    public void Averages_only_the_unpadded_rows()
    {
        float[] hidden = [1, 2, 3, 4, 100, -100]; // [L=3, D=2], the last row is padding
        var pooled = new float[2];

        MeanPooling.Pool(hidden, length: 2, pooled);

        Assert.Equal([2f, 3f], pooled);
    }

    [Fact]
    public void Normalises_to_unit_length_and_leaves_zero_vectors_finite()
    {
        float[] vector = [3, 4];
        MeanPooling.Normalize(vector);
        Assert.Equal(0.6f, vector[0], 1e-6f);
        Assert.Equal(0.8f, vector[1], 1e-6f);

        float[] zero = [0, 0];
        MeanPooling.Normalize(zero);
        Assert.Equal([0f, 0f], zero);
    }

    [Fact]
    public void Rejects_a_length_that_the_states_do_not_cover()
    {
        Assert.Throws<ArgumentException>(() => MeanPooling.Pool(new float[4], length: 3, new float[2]));
        Assert.Throws<ArgumentException>(() => MeanPooling.Pool(new float[4], length: 0, new float[2]));
    }
}
