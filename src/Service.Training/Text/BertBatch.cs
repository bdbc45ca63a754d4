using Service.Models.Text;
using static TorchSharp.torch;

namespace Service.Training.Text;

/// <summary>
/// A right-padded batch for <see cref="BertEncoder"/> as TorchSharp tensors: input_ids, attention_mask and
/// token_type_ids, all [B, L] int64 (<see cref="PaddedBatch"/>).
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

    /// <summary>The tensors of <see cref="PaddedBatch.Pad"/>'s rows, on <paramref name="device"/>.</summary>
    public static BertBatch Pad(IReadOnlyList<int[]> sequences, IReadOnlyList<int[]>? tokenTypes = null, Device? device = null)
    {
        var padded = PaddedBatch.Pad(sequences, tokenTypes);
        var shape = padded.Shape;
        return new BertBatch(
            tensor(padded.Ids, shape, device: device).DetachFromDisposeScope(),
            tensor(padded.Mask, shape, device: device).DetachFromDisposeScope(),
            tensor(padded.Types, shape, device: device).DetachFromDisposeScope(),
            sequences.Select(s => s.Length).ToArray());
    }

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        TokenTypeIds.Dispose();
    }
}
