using System.Numerics.Tensors;
using Service.Tests.Fixtures;

namespace Service.Tests.Text;

[Collection(MiniLmCollection.Name)]
public sealed class SentenceEmbeddingTests(MiniLmFixture fixture)
{
    static readonly string[] Sentences =
    [
        "A man is playing a guitar.",
        "A woman is slicing an onion.",
        "The new movie is awesome and everyone loved it.",
        "Two dogs run across a snowy field chasing a red ball while their owner watches from a bench.",
        "Stocks fell.",
    ];

    [Fact]
    public async Task Embeddings_have_384_unit_norm_dimensions_and_are_deterministic()
    {
        var first = await fixture.Model.EmbedAsync(Sentences, truncate: false, normalize: true, CancellationToken.None);
        var second = await fixture.Model.EmbedAsync(Sentences, truncate: false, normalize: true, CancellationToken.None);

        Assert.Equal(Sentences.Length, first.Vectors.Length);
        for (var i = 0; i < Sentences.Length; i++)
        {
            Assert.Equal(384, first.Vectors[i].Length);
            Assert.Equal(1.0, TensorPrimitives.Norm(first.Vectors[i]), 1e-5);
            Assert.Equal(first.Vectors[i], second.Vectors[i]);
        }
        Assert.Equal(9, first.TokenCounts[0]);
    }

    [Fact]
    public async Task A_padded_batch_gives_the_same_vectors_as_one_by_one()
    {
        var batch = await fixture.Model.EmbedAsync(Sentences, truncate: false, normalize: true, CancellationToken.None);

        for (var i = 0; i < Sentences.Length; i++)
        {
            var single = await fixture.Model.EmbedAsync([Sentences[i]], truncate: false, normalize: true, CancellationToken.None);
            var difference = new float[384];
            TensorPrimitives.Subtract(batch.Vectors[i], single.Vectors[0], difference);
            var maxDifference = TensorPrimitives.MaxMagnitude(difference);
            Assert.True(maxDifference <= 1e-5f, $"sentence {i}: max |batch - single| = {maxDifference}");
        }
    }

    [Theory]
    [InlineData("A man is playing a guitar.", "A person plays an instrument.", "A chef is cooking pasta in the kitchen.")]
    [InlineData("The cat sits on the mat.", "A kitten is resting on a rug.", "Interest rates rose by half a point.")]
    [InlineData("How do I reset my password?", "I forgot my login password and need to change it.", "The train to Paris leaves at noon.")]
    [InlineData("Heavy rain caused flooding in the city.", "Storms flooded streets downtown.", "She baked chocolate cookies for the party.")]
    public async Task Paraphrases_score_higher_than_unrelated_sentences(string anchor, string paraphrase, string unrelated)
    {
        var output = await fixture.Model.EmbedAsync([anchor, paraphrase, unrelated], truncate: false, normalize: true, CancellationToken.None);
        var similar = TensorPrimitives.Dot(output.Vectors[0], output.Vectors[1]);
        var different = TensorPrimitives.Dot(output.Vectors[0], output.Vectors[2]);

        Assert.True(similar > different + 0.2f, $"paraphrase {similar:0.000} vs unrelated {different:0.000}");
    }

    [Fact]
    public async Task Unnormalised_vectors_are_the_mean_pooled_states_in_the_same_direction()
    {
        var raw = await fixture.Model.EmbedAsync([Sentences[0]], truncate: false, normalize: false, CancellationToken.None);
        var unit = await fixture.Model.EmbedAsync([Sentences[0]], truncate: false, normalize: true, CancellationToken.None);

        var norm = TensorPrimitives.Norm(raw.Vectors[0]);
        Assert.True(Math.Abs(norm - 1f) > 0.01f, $"raw norm {norm} should not already be 1");
        Assert.Equal(1.0, TensorPrimitives.CosineSimilarity(raw.Vectors[0], unit.Vectors[0]), 1e-5);
    }
}
