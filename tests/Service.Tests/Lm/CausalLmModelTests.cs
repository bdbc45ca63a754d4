using Service.Models.Lm;
using Service.Models.Registry;
using Service.Tests.Fixtures;
using static TorchSharp.torch;

namespace Service.Tests.Lm;

/// <summary>The served causal LM: chunks run in one padded batch give what each chunk gives alone.</summary>
public sealed class CausalLmModelTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), $"lm-model-tests-{Guid.NewGuid():N}");
    readonly CausalLmModel model;
    readonly CausalLm reference;

    public CausalLmModelTests()
    {
        var folder = TinyLm.Write(root);
        var file = LmFile.Read(folder);
        model = new CausalLmModel(new ModelDescriptor("tiny-lm", CausalLmModel.Kind, 32, 18, "cpu"), file, Path.Combine(folder, LmFile.WeightsName), 4);
        reference = new CausalLm(file.Config);
        reference.load(Path.Combine(folder, LmFile.WeightsName));
        reference.eval();
    }

    /// <summary>log p over the labels after the last token of one sequence, run alone: [C].</summary>
    double[] Alone(int[] tokens)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var logits = reference.forward(tensor(tokens.Select(t => (long)t).ToArray()).unsqueeze(0), AttentionMasks.Causal(tokens.Length))[0, -1];
        var labels = logits.narrow(0, TinyLm.Vocabulary.Inputs, TinyLm.Vocabulary.Clusters).to_type(ScalarType.Float64);
        return nn.functional.log_softmax(labels, 0).data<double>().ToArray();
    }

    static (int, int)[] Demonstrations(int count) => [.. Enumerable.Range(0, count).Select(i => ((i * 5) % 16, (i * 3) % 8))];

    [Theory]
    [InlineData(LmCombination.Nbce, NbcePooling.MinEntropy)]
    [InlineData(LmCombination.Nbce, NbcePooling.Mean)]
    [InlineData(LmCombination.Truncate, NbcePooling.MinEntropy)]
    [InlineData(LmCombination.Mean, NbcePooling.MinEntropy)]
    public async Task A_batch_of_chunks_combines_what_each_chunk_gives_alone(LmCombination method, NbcePooling pooling)
    {
        var demonstrations = Demonstrations(19); // chunks of 8, 8 and 3: rows of three lengths, and the prior
        var chunks = TinyLm.Vocabulary.Chunks(demonstrations, query: 9, TinyLm.Config.Window);
        var logs = chunks.Select(Alone).ToList();
        var prior = Alone(TinyLm.Vocabulary.Sequence([], 9));
        var expected = method switch
        {
            LmCombination.Nbce => ContextCombination.Nbce(logs, prior, 0.25, pooling),
            LmCombination.Truncate => ContextCombination.Truncation(logs),
            _ => ContextCombination.ProbabilityAverage(logs),
        };

        var result = await model.ClassifyAsync(new ClassifySpec(demonstrations, 9, method, 0.25, pooling), CancellationToken.None);

        Assert.Equal(3, result.Chunks);
        Assert.Equal(method == LmCombination.Nbce && pooling == NbcePooling.MinEntropy ? ContextCombination.MostCertainChunk(logs) : null, result.ChosenChunk);
        Assert.Equal(1, result.Probabilities.Sum(), 9);
        for (var c = 0; c < expected.Length; c++)
            Assert.Equal(Math.Exp(expected[c]), result.Probabilities[c], 5);
    }

    [Fact]
    public async Task Attention_rows_are_distributions_and_the_causal_mask_keeps_the_upper_triangle_empty()
    {
        Assert.True(TinyLm.Vocabulary.TryEncode("<s> x3 y1 x5 y2 x7 y3", out var tokens, out _));

        var causal = await model.AttentionAsync(tokens, LmMask.Model, CancellationToken.None);
        var bidirectional = await model.AttentionAsync(tokens, LmMask.Bidirectional, CancellationToken.None);

        Assert.Equal(TinyLm.Config.Layers, causal.Layers.Length);
        var t = tokens.Length;
        foreach (var layer in causal.Layers)
        {
            Assert.Equal(causal.Heads * t * t, layer.Length);
            for (var row = 0; row < causal.Heads * t; row++)
            {
                Assert.Equal(1, layer.AsSpan(row * t, t).ToArray().Sum(), 4);
                var i = row % t;
                Assert.All(layer.AsSpan(row * t + i + 1, t - i - 1).ToArray(), p => Assert.Equal(0, p));
            }
        }
        Assert.Contains(bidirectional.Layers[0].Select((p, k) => (p, k)), x => x.k % t > x.k / t % t && x.p > 0);
    }

    public void Dispose()
    {
        model.Dispose();
        reference.Dispose();
        Directory.Delete(root, true);
    }
}
