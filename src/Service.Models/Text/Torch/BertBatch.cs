using static TorchSharp.torch;

namespace Service.Models.Text.Torch;

/// <summary>
/// A right-padded batch for <see cref="BertEncoder"/>: input_ids, attention_mask and token_type_ids, all [B, L]
/// int64 with L the longest sequence; padding is id 0 ([PAD]), mask 0, type 0.
/// </summary>
public sealed class BertBatch : IDisposable
{
    BertBatch(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds, int[] lengths)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        TokenTypeIds = tokenTypeIds;
        Lengths = lengths;
    }

    public Tensor InputIds { get; }
    public Tensor AttentionMask { get; }
    public Tensor TokenTypeIds { get; }

    /// <summary>Unpadded length of each row.</summary>
    public int[] Lengths { get; }

    /// <param name="sequences">Token ids per row, special tokens included (as <see cref="TextTokenizer"/> gives them).</param>
    /// <param name="tokenTypes">Per row, the same length as its ids; null means all 0.</param>
    public static BertBatch Pad(IReadOnlyList<int[]> sequences, IReadOnlyList<int[]>? tokenTypes = null, Device? device = null)
    {
        if (sequences.Count == 0)
            throw new ArgumentException("a batch needs at least one sequence.", nameof(sequences));
        if (tokenTypes is not null && (tokenTypes.Count != sequences.Count || sequences.Where((s, i) => tokenTypes[i].Length != s.Length).Any()))
            throw new ArgumentException("token types must match the sequences row by row.", nameof(tokenTypes));
        var batch = sequences.Count;
        var width = sequences.Max(s => s.Length);
        var ids = new long[batch * width];
        var mask = new long[batch * width];
        var types = new long[batch * width];
        for (var b = 0; b < batch; b++)
        {
            for (var l = 0; l < sequences[b].Length; l++)
            {
                ids[b * width + l] = sequences[b][l];
                mask[b * width + l] = 1;
                types[b * width + l] = tokenTypes?[b][l] ?? 0;
            }
        }
        long[] shape = [batch, width];
        return new BertBatch(
            tensor(ids, shape, device: device).DetachFromDisposeScope(),
            tensor(mask, shape, device: device).DetachFromDisposeScope(),
            tensor(types, shape, device: device).DetachFromDisposeScope(),
            sequences.Select(s => s.Length).ToArray());
    }

    /// <summary>
    /// Cross-encoder input "[CLS] query [SEP] item [SEP]" from two tokenized texts (each "[CLS] … [SEP]"): the item's
    /// [CLS] is dropped, token type 0 covers [CLS] query [SEP], 1 covers item [SEP]. Longer than
    /// <paramref name="maxTokens"/> cuts the item's tokens first (its final [SEP] stays), then the query's.
    /// </summary>
    public static (int[] Ids, int[] Types) Pair(int[] query, int[] item, int maxTokens)
    {
        if (query.Length < 2 || item.Length < 2)
            throw new ArgumentException("both texts must carry [CLS] … [SEP].");
        if (maxTokens < 5)
            throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "a pair needs room for at least [CLS] q [SEP] i [SEP].");
        var queryBody = query[1..^1];
        var itemBody = item[1..^1];
        var overflow = queryBody.Length + itemBody.Length + 3 - maxTokens;
        if (overflow > 0)
        {
            var cutItem = Math.Min(overflow, Math.Max(0, itemBody.Length - 1));
            itemBody = itemBody[..^cutItem];
            overflow -= cutItem;
            if (overflow > 0)
                queryBody = queryBody[..Math.Max(Math.Min(1, queryBody.Length), queryBody.Length - overflow)];
        }
        int cls = query[0], sep = query[^1];
        int[] ids = [cls, .. queryBody, sep, .. itemBody, sep];
        var types = new int[ids.Length];
        Array.Fill(types, 1, queryBody.Length + 2, itemBody.Length + 1);
        return (ids, types);
    }

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        TokenTypeIds.Dispose();
    }
}
