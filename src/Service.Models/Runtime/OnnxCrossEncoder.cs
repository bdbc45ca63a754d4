using System.Numerics.Tensors;
using Service.Models.Text;

namespace Service.Models.Runtime;

/// <summary>
/// A BERT cross-encoder in ONNX Runtime: each row is a pair "[CLS] query [SEP] item [SEP]" with token type 0 on
/// "[CLS] query [SEP]" and 1 on "item [SEP]" (as <see cref="Service.Models.Text.TextPair"/> builds it), and its raw score is
/// head · h_[CLS] + bias, h_[CLS] being the last hidden state at position 0 (no pooler, as in training).
/// </summary>
public sealed class OnnxCrossEncoder : IBatchModel
{
    readonly BertOnnxSession session;
    readonly float[] headWeight;
    readonly float headBias;

    /// <param name="initializers">Overridden initializers (the adapter's merged weights), or null for the file as is.</param>
    /// <param name="headWeight">[hidden]</param>
    public OnnxCrossEncoder(
        string modelPath, ExecutionDevice device, IReadOnlyDictionary<string, (float[] Data, long[] Shape)>? initializers,
        float[] headWeight, float headBias)
    {
        session = new BertOnnxSession(modelPath, device, initializers);
        try
        {
            if (!session.TakesTokenTypes)
                throw new InvalidDataException("The model has no token_type_ids input, so it cannot tell the query from the item.");
            if (headWeight.Length != session.HiddenSize)
                throw new InvalidDataException($"The head has {headWeight.Length} weights; the encoder's hidden size is {session.HiddenSize}.");
        }
        catch
        {
            session.Dispose();
            throw;
        }
        this.headWeight = headWeight;
        this.headBias = headBias;
    }

    /// <summary>One raw score (a logit) per pair.</summary>
    public int OutputSize => 1;

    /// <param name="batch">Pairs with their token types: 0 on "[CLS] query [SEP]", 1 on "item [SEP]".</param>
    public void Run(PaddedBatch batch, Span<float> output)
    {
        if (!batch.HasTokenTypes)
            throw new ArgumentException("A cross-encoder needs the pairs' token types.", nameof(batch));
        using var results = session.Run(batch);
        var hidden = results[0].GetTensorDataAsSpan<float>(); // [B, L, D]
        var (width, dimensions) = (batch.Width, session.HiddenSize);
        for (var b = 0; b < batch.Batch; b++)
            output[b] = TensorPrimitives.Dot(headWeight, hidden.Slice(b * width * dimensions, dimensions)) + headBias;
    }

    public void Dispose() => session.Dispose();
}
