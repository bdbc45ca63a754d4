using Service.Models.Text;

namespace Service.Models.Runtime;

/// <summary>
/// A BERT-family encoder in ONNX Runtime followed by mean pooling (not normalised: callers choose).
/// The session is created once and reused; overriding initializers live as long as it, every other OrtValue only for one <see cref="Run"/>.
/// </summary>
public sealed class OnnxSentenceEncoder : IBatchModel
{
    readonly BertOnnxSession session;

    /// <param name="initializers">Overridden initializers (e.g. an adapter's merged weights), or null for the file as is.</param>
    public OnnxSentenceEncoder(string modelPath, ExecutionDevice device, IReadOnlyDictionary<string, (float[] Data, long[] Shape)>? initializers = null)
    {
        session = new BertOnnxSession(modelPath, device, initializers);
    }

    public int OutputSize => session.HiddenSize;

    public void Run(PaddedBatch batch, Span<float> output)
    {
        using var results = session.Run(batch);
        var hidden = results[0].GetTensorDataAsSpan<float>(); // [B, L, D]
        var (width, dimensions) = (batch.Width, OutputSize);
        for (var b = 0; b < batch.Batch; b++)
        {
            MeanPooling.Pool(
                hidden.Slice(b * width * dimensions, width * dimensions),
                batch.Lengths[b],
                output.Slice(b * dimensions, dimensions));
        }
    }

    public void Dispose() => session.Dispose();
}
