using Microsoft.ML.OnnxRuntime;
using Service.Models.Text;

namespace Service.Models.Runtime;

/// <summary>
/// A BERT-family encoder in ONNX Runtime followed by mean pooling (not normalised: callers choose).
/// The session is created once and reused; every OrtValue lives only for one <see cref="Run"/>.
/// </summary>
public sealed class OnnxSentenceEncoder : IBatchModel
{
    readonly InferenceSession session;
    readonly RunOptions runOptions = new();
    readonly string[] inputNames;
    readonly string[] outputNames = ["last_hidden_state"];

    public OnnxSentenceEncoder(string modelPath, ExecutionDevice device)
    {
        using var options = device.CreateSessionOptions();
        session = new InferenceSession(modelPath, options);
        inputNames = session.InputMetadata.ContainsKey("token_type_ids")
            ? ["input_ids", "attention_mask", "token_type_ids"]
            : ["input_ids", "attention_mask"];
        OutputSize = (int)session.OutputMetadata["last_hidden_state"].Dimensions[^1];
    }

    public int OutputSize { get; }

    public void Run(IReadOnlyList<int[]> sequences, Span<float> output)
    {
        var batch = sequences.Count;
        var width = sequences.Max(s => s.Length);
        var ids = new long[batch * width];          // [B, L]
        var mask = new long[batch * width];         // [B, L]
        for (var b = 0; b < batch; b++)
        {
            var sequence = sequences[b];
            for (var l = 0; l < sequence.Length; l++)
            {
                ids[b * width + l] = sequence[l];
                mask[b * width + l] = 1;
            }
        }

        long[] shape = [batch, width];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(new long[batch * width], shape);
        OrtValue[] inputs = inputNames.Length == 3 ? [idsValue, maskValue, typesValue] : [idsValue, maskValue];

        using var results = session.Run(runOptions, inputNames, inputs, outputNames);
        var hidden = results[0].GetTensorDataAsSpan<float>(); // [B, L, D]
        var dimensions = OutputSize;
        for (var b = 0; b < batch; b++)
        {
            MeanPooling.Pool(
                hidden.Slice(b * width * dimensions, width * dimensions),
                sequences[b].Length,
                output.Slice(b * dimensions, dimensions));
        }
    }

    public void Dispose()
    {
        runOptions.Dispose();
        session.Dispose();
    }
}
