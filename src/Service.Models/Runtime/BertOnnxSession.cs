using Microsoft.ML.OnnxRuntime;
using Service.Models.Text;

namespace Service.Models.Runtime;

/// <summary>
/// One ONNX Runtime session of a BERT-family encoder (input_ids, attention_mask[, token_type_ids] → last_hidden_state),
/// optionally with some initializers overridden: ONNX Runtime then takes those tensors from the supplied buffers instead
/// of the file (<see cref="SessionOptions.AddInitializer"/>), so a fine-tuned variant shares the base file and no
/// modified copy of the model is written.
/// </summary>
/// <remarks>
/// The overriding OrtValues pin their managed arrays; ONNX Runtime reads from them for the session's whole life, so
/// they are disposed only after the session.
/// </remarks>
public sealed class BertOnnxSession : IDisposable
{
    readonly InferenceSession session;
    readonly OrtValue[] overrides;
    readonly RunOptions runOptions = new();
    readonly string[] outputNames = ["last_hidden_state"];

    /// <param name="initializers">Initializer name → data and shape in the file's layout; null or empty runs the file as is.</param>
    public BertOnnxSession(string modelPath, ExecutionDevice device, IReadOnlyDictionary<string, (float[] Data, long[] Shape)>? initializers = null)
    {
        var pinned = new List<OrtValue>();
        try
        {
            using var options = device.CreateSessionOptions();
            foreach (var (name, (data, shape)) in initializers ?? new Dictionary<string, (float[], long[])>())
            {
                var value = OrtValue.CreateTensorValueFromMemory(data, shape);
                pinned.Add(value);
                options.AddInitializer(name, value);
            }
            session = new InferenceSession(modelPath, options);
        }
        catch
        {
            pinned.ForEach(value => value.Dispose());
            runOptions.Dispose();
            throw;
        }
        overrides = pinned.ToArray();
        TakesTokenTypes = session.InputMetadata.ContainsKey("token_type_ids");
        HiddenSize = (int)session.OutputMetadata["last_hidden_state"].Dimensions[^1];
    }

    public int HiddenSize { get; }

    /// <summary>Whether the graph has a token_type_ids input (needed for "[CLS] a [SEP] b [SEP]" pairs).</summary>
    public bool TakesTokenTypes { get; }

    /// <summary>
    /// Runs one padded batch. The caller disposes the result, whose only value is last_hidden_state [B, L, <see cref="HiddenSize"/>]
    /// with L = <see cref="PaddedBatch.Width"/>.
    /// </summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(PaddedBatch batch)
    {
        if (batch.HasTokenTypes && !TakesTokenTypes)
            throw new InvalidOperationException("This model has no token_type_ids input; it cannot take token types.");
        var shape = batch.Shape;
        using var idsValue = OrtValue.CreateTensorValueFromMemory(batch.Ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(batch.Mask, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(batch.Types, shape);
        return TakesTokenTypes
            ? session.Run(runOptions, ["input_ids", "attention_mask", "token_type_ids"], [idsValue, maskValue, typesValue], outputNames)
            : session.Run(runOptions, ["input_ids", "attention_mask"], [idsValue, maskValue], outputNames);
    }

    public void Dispose()
    {
        runOptions.Dispose();
        session.Dispose();
        foreach (var value in overrides)
            value.Dispose();
    }
}
