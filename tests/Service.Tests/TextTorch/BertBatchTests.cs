using Service.Models.Text;
using Service.Models.Text.Torch;
using Service.Models.Torch;
using Service.Training.Text;

namespace Service.Tests.TextTorch;

public sealed class BertBatchTests
{
    public BertBatchTests() => TorchRuntime.EnsureInitialized();

    [Fact]
    public void A_cross_encoder_pair_is_cls_query_sep_item_sep_with_item_token_types_and_truncates_the_item_first()
    {
        int[] query = [101, 7, 8, 102], item = [101, 20, 21, 22, 23, 102];

        var (ids, types) = TextPair.Encode(query, item, 256);
        Assert.Equal([101, 7, 8, 102, 20, 21, 22, 23, 102], ids);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1, 1], types);

        (ids, types) = TextPair.Encode(query, item, 7);
        Assert.Equal([101, 7, 8, 102, 20, 21, 102], ids);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1], types);

        (ids, _) = TextPair.Encode(query, item, 5); // the item keeps one token, then the query is cut
        Assert.Equal([101, 7, 102, 20, 102], ids);
    }

    [Fact]
    public void Padding_right_aligns_rows_with_zero_ids_mask_and_types()
    {
        using var batch = BertBatch.Pad([[101, 5, 102], [101, 102]], [[0, 0, 0], [0, 1]]);
        Assert.Equal([2L, 3], batch.InputIds.shape);
        Assert.Equal([101L, 5, 102, 101, 102, 0], batch.InputIds.data<long>().ToArray());
        Assert.Equal([1L, 1, 1, 1, 1, 0], batch.AttentionMask.data<long>().ToArray());
        Assert.Equal([0L, 0, 0, 0, 1, 0], batch.TokenTypeIds.data<long>().ToArray());
        Assert.Equal([3, 2], batch.Lengths);
    }
}
