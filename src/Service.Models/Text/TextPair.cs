namespace Service.Models.Text;

/// <summary>Cross-encoder input from two tokenized texts; the one pair rule of serving and training.</summary>
public static class TextPair
{
    /// <summary>
    /// "[CLS] query [SEP] item [SEP]" from two tokenized texts (each "[CLS] … [SEP]"): the item's [CLS] is dropped,
    /// token type 0 covers [CLS] query [SEP], 1 covers item [SEP]. Longer than <paramref name="maxTokens"/> cuts the
    /// item's tokens first (its final [SEP] stays), then the query's.
    /// </summary>
    public static (int[] Ids, int[] Types) Encode(int[] query, int[] item, int maxTokens)
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
}
