namespace Service.Models.Text;

/// <summary>
/// Token sequences right-padded to the longest row, as BERT-family encoders take them: input_ids, attention_mask and
/// token_type_ids, each [B, L] int64 row-major. Padding is id 0 ([PAD]), mask 0, type 0. The one padding rule of the
/// service; ONNX Runtime serving and the TorchSharp training encoder both build their inputs from it.
/// </summary>
/// <param name="Lengths">Unpadded length of each row.</param>
/// <param name="HasTokenTypes">Whether the rows came with token types (else every type is 0).</param>
public sealed record PaddedBatch(long[] Ids, long[] Mask, long[] Types, int Batch, int Width, int[] Lengths, bool HasTokenTypes)
{
    /// <param name="sequences">Token ids per row, special tokens included (as <see cref="TextTokenizer"/> gives them).</param>
    /// <param name="tokenTypes">Per row, the same length as its ids; null means all 0.</param>
    public static PaddedBatch Pad(IReadOnlyList<int[]> sequences, IReadOnlyList<int[]>? tokenTypes = null)
    {
        if (sequences.Count == 0)
            throw new ArgumentException("a batch needs at least one sequence.", nameof(sequences));
        if (tokenTypes is not null && (tokenTypes.Count != sequences.Count || sequences.Where((s, i) => tokenTypes[i].Length != s.Length).Any()))
            throw new ArgumentException("token types must match the sequences row by row.", nameof(tokenTypes));
        var batch = sequences.Count;
        var width = sequences.Max(s => s.Length);
        var ids = new long[batch * width];   // [B, L]
        var mask = new long[batch * width];  // [B, L]
        var types = new long[batch * width]; // [B, L]
        for (var b = 0; b < batch; b++)
        {
            var sequence = sequences[b];
            for (var l = 0; l < sequence.Length; l++)
            {
                ids[b * width + l] = sequence[l];
                mask[b * width + l] = 1;
                types[b * width + l] = tokenTypes?[b][l] ?? 0;
            }
        }
        return new PaddedBatch(ids, mask, types, batch, width, [.. sequences.Select(s => s.Length)], tokenTypes is not null);
    }

    public long[] Shape => [Batch, Width];
}
