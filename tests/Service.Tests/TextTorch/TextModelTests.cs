using Service.Models.Text;
using Service.Cli.Text.Training;
using Service.Models.Text.Torch;
using Service.Tests.Fixtures;
using static TorchSharp.torch;
using Service.Training;
using Service.Training.Text;

namespace Service.Tests.TextTorch;

[Collection(MiniLmCollection.Name)]
public sealed class TextModelTests(MiniLmFixture miniLm)
{
    static readonly string[] Sentences = ["a bank that accepts deposits", "the river «bank» was muddy", "he cashed a check at the «bank»"];

    [Fact]
    public async Task Bi_encoder_mean_pooling_equals_the_served_embeddings()
    {
        using var model = new TextModel(BertEncoder.FromOnnx(miniLm.ModelPath));
        model.eval();
        var ids = Sentences.Select(s => miniLm.Tokenizer.Encode(s, truncate: false).Ids).ToList();
        float[] torchVectors;
        using (NewDisposeScope())
        using (inference_mode())
        using (var batch = BertBatch.Pad(ids))
            torchVectors = nn.functional.normalize(model.Embed(batch), p: 2, dim: 1).contiguous().data<float>().ToArray();

        var served = await miniLm.Model.EmbedAsync(Sentences, truncate: false, normalize: true, CancellationToken.None);
        for (var i = 0; i < Sentences.Length; i++)
            for (var j = 0; j < 384; j++)
                Assert.Equal(served.Vectors[i][j], torchVectors[i * 384 + j], 1e-4);
    }

    [Fact]
    public void Lora_cross_encoder_steps_lower_the_cosent_loss_and_leave_the_base_weights_alone()
    {
        using var model = new TextModel(BertEncoder.FromOnnx(miniLm.ModelPath));
        manual_seed(3);
        var (trained, adapters) = model.Prepare(Adaptation.Lora, new LoraOptions { Rank = 4, Alpha = 8, Seed = 3 });
        Assert.Equal(36, adapters.Count); // 6 layers × (q, k, v, attention output, intermediate, output)
        Assert.Equal(2 * 36 + 2, trained.Count); // U, V per adapter + head weight and bias
        var baseWeight = adapters.Values.First().BaseWeight.detach().clone();

        var query = miniLm.Tokenizer.Encode("he cashed a check at the «bank»", truncate: false).Ids;
        var items = new[] { "bank: a financial institution that accepts deposits", "bank: sloping land beside a body of water", "bank: a long ridge or pile" }
            .Select(t => miniLm.Tokenizer.Encode(t, truncate: false).Ids).ToList();
        var pairs = items.Select(i => TextPair.Encode(query, i, 128)).ToList();
        using var batch = BertBatch.Pad(pairs.Select(p => p.Ids).ToList(), pairs.Select(p => p.Types).ToList());
        using var labels = tensor(new float[] { 1, 0, 0 });
        var loss = CoSentLoss.ForCrossEncoder();
        using var optimizer = optim.Adam(trained, 1e-3);
        model.train();
        var losses = new List<float>();
        for (var step = 0; step < 6; step++)
        {
            using var scope = NewDisposeScope();
            var value = loss.Compute(model.Score(batch), labels);
            optimizer.zero_grad();
            value.backward();
            optimizer.step();
            losses.Add(value.item<float>());
        }

        Assert.True(losses[^1] < losses[0] * 0.9, $"loss {losses[0]:F4} → {losses[^1]:F4}");
        Assert.Equal(0, (adapters.Values.First().BaseWeight - baseWeight).abs().max().item<float>());
        Assert.NotEqual(0, adapters.Values.First().U.abs().max().item<float>());
    }
}
