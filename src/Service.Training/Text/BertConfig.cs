namespace Service.Training.Text;

/// <summary>
/// The shape of a BERT encoder (HuggingFace <c>BertConfig</c> field meanings). Dropout applies only in training
/// mode; <see cref="BertEncoder"/> built from ONNX starts in eval mode.
/// </summary>
public sealed record BertConfig
{
    public int VocabSize { get; init; } = 30522;
    public int HiddenSize { get; init; } = 384;
    public int Layers { get; init; } = 6;
    public int Heads { get; init; } = 12;
    public int IntermediateSize { get; init; } = 1536;
    public int MaxPositions { get; init; } = 512;
    public int TypeVocabSize { get; init; } = 2;
    public double LayerNormEps { get; init; } = 1e-12;
    public double HiddenDropout { get; init; } = 0.1;
    public double AttentionDropout { get; init; } = 0.1;

    public int HeadSize => HiddenSize / Heads;

    /// <summary>sentence-transformers/all-MiniLM-L6-v2 (its config.json).</summary>
    public static BertConfig MiniLmL6 { get; } = new();

    public void Validate()
    {
        if (HiddenSize % Heads != 0)
            throw new ArgumentException($"hidden size {HiddenSize} is not a multiple of the {Heads} heads.");
        if (VocabSize <= 0 || Layers <= 0 || IntermediateSize <= 0 || MaxPositions <= 0 || TypeVocabSize <= 0)
            throw new ArgumentException("every BERT size must be positive.");
    }

    /// <summary>
    /// Every parameter of the encoder (no pooler), by HuggingFace <c>BertModel</c> state-dict name, with its
    /// PyTorch shape (Linear weights are [out, in]). <see cref="BertEncoder"/>'s named_parameters match this list.
    /// </summary>
    public IReadOnlyList<(string Name, long[] Shape)> ExpectedParameters()
    {
        long h = HiddenSize, i = IntermediateSize;
        var list = new List<(string, long[])>
        {
            ("embeddings.word_embeddings.weight", [VocabSize, h]),
            ("embeddings.position_embeddings.weight", [MaxPositions, h]),
            ("embeddings.token_type_embeddings.weight", [TypeVocabSize, h]),
            ("embeddings.LayerNorm.weight", [h]),
            ("embeddings.LayerNorm.bias", [h]),
        };
        for (var l = 0; l < Layers; l++)
        {
            var p = $"encoder.layer.{l}.";
            foreach (var name in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                list.Add((p + name + ".weight", [h, h]));
                list.Add((p + name + ".bias", [h]));
            }
            list.Add((p + "attention.output.LayerNorm.weight", [h]));
            list.Add((p + "attention.output.LayerNorm.bias", [h]));
            list.Add((p + "intermediate.dense.weight", [i, h]));
            list.Add((p + "intermediate.dense.bias", [i]));
            list.Add((p + "output.dense.weight", [h, i]));
            list.Add((p + "output.dense.bias", [h]));
            list.Add((p + "output.LayerNorm.weight", [h]));
            list.Add((p + "output.LayerNorm.bias", [h]));
        }
        return list;
    }
}
