using Service.Models.Runtime;
using System.Numerics.Tensors;
using Service.Models.Text;
using Service.Models.Text.Torch;
using static TorchSharp.torch;
using Service.Training.Text;

namespace Service.Cli.Text.Training;

/// <summary>
/// Batched TorchSharp inference, texts sorted by length so batches carry little padding. With <paramref name="served"/>,
/// cross-encoder pairs are scored by ONNX Runtime with an adapter merged — the model the service runs — instead.
/// </summary>
public sealed class TextScorer(TextModel model, TextTokenizer tokenizer, Service.Models.Runtime.OnnxCrossEncoder? served = null)
{
    const int Batch = 64;

    public int Dimension => model.Encoder.Config.HiddenSize;

    public float[] Embed(List<string> texts)
    {
        var d = Dimension;
        var output = new float[texts.Count * d];
        var ids = texts.Select(t => TextData.Tokenize(tokenizer, t)).ToList();
        var order = Enumerable.Range(0, texts.Count).OrderBy(i => ids[i].Length).ToArray();
        for (var start = 0; start < order.Length; start += Batch)
        {
            var rows = order.Skip(start).Take(Batch).ToArray();
            using var scope = NewDisposeScope();
            using var mode = inference_mode();
            using var batch = BertBatch.Pad(rows.Select(r => ids[r]).ToList());
            var vectors = nn.functional.normalize(model.Embed(batch), p: 2, dim: 1).contiguous().data<float>().ToArray();
            for (var k = 0; k < rows.Length; k++)
                vectors.AsSpan(k * d, d).CopyTo(output.AsSpan(rows[k] * d, d));
        }
        return output;
    }

    public float[] Cosines(List<(string Query, string Item)> pairs)
    {
        var texts = pairs.Select(p => p.Query).Concat(pairs.Select(p => p.Item)).Distinct().ToList();
        var index = texts.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var vectors = Embed(texts);
        var d = Dimension;
        return pairs.Select(p => TensorPrimitives.Dot(vectors.AsSpan(index[p.Query] * d, d), vectors.AsSpan(index[p.Item] * d, d))).ToArray();
    }

    public float[] Pairs(List<(string Query, string Item)> pairs)
    {
        var encoded = pairs.Select(p => TextPair.Encode(TextData.Tokenize(tokenizer, p.Query), TextData.Tokenize(tokenizer, p.Item), 128)).ToList();
        var order = Enumerable.Range(0, pairs.Count).OrderBy(i => encoded[i].Ids.Length).ToArray();
        var output = new float[pairs.Count];
        for (var start = 0; start < order.Length; start += Batch)
        {
            var rows = order.Skip(start).Take(Batch).ToArray();
            if (served is not null)
            {
                var onnx = new float[rows.Length];
                served.Run(rows.Select(r => encoded[r].Ids).ToArray(), rows.Select(r => encoded[r].Types).ToArray(), onnx);
                for (var k = 0; k < rows.Length; k++)
                    output[rows[k]] = onnx[k];
                continue;
            }
            using var scope = NewDisposeScope();
            using var mode = inference_mode();
            using var batch = BertBatch.Pad(rows.Select(r => encoded[r].Ids).ToList(), rows.Select(r => encoded[r].Types).ToList());
            var scores = model.Score(batch).contiguous().data<float>().ToArray();
            for (var k = 0; k < rows.Length; k++)
                output[rows[k]] = scores[k];
        }
        return output;
    }
}
