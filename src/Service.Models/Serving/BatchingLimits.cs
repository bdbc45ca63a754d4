namespace Service.Models.Serving;

/// <summary>How much one worker may batch and queue.</summary>
/// <param name="MaxBatchTokens">Token budget of one batch; also the padded size (rows × longest row) of one model call.</param>
/// <param name="MaxBatchSequences">Most sequences in one model call.</param>
/// <param name="QueueCapacity">Jobs waiting for the worker; beyond it callers are told to retry.</param>
/// <param name="MaxPaddingFraction">
/// Largest share of padding in one model call once it has <paramref name="MinCallSequences"/> rows: merged
/// batches are split where padding the short rows to the longest would waste more compute than that.
/// </param>
/// <param name="MinCallSequences">Rows a model call may take regardless of padding, so calls never get tiny.</param>
public sealed record BatchingLimits(
    int MaxBatchTokens = 16384,
    int MaxBatchSequences = 64,
    int QueueCapacity = 256,
    double MaxPaddingFraction = 0.2,
    int MinCallSequences = 8)
{
    /// <summary>
    /// The model calls of one batch: consecutive runs of the length-sorted rows whose padded size (rows × longest) fits
    /// <see cref="MaxBatchTokens"/> and, past <see cref="MinCallSequences"/> rows, waste at most <see cref="MaxPaddingFraction"/>
    /// on padding.
    /// </summary>
    /// <param name="sortedLengths">Token counts of the rows, ascending.</param>
    public IEnumerable<Range> ModelCalls(IReadOnlyList<int> sortedLengths)
    {
        var start = 0;
        while (start < sortedLengths.Count)
        {
            var end = start + 1;
            var real = sortedLengths[start];
            while (end < sortedLengths.Count && end - start < MaxBatchSequences)
            {
                var padded = (end - start + 1) * sortedLengths[end];
                var waste = 1 - (double)(real + sortedLengths[end]) / padded;
                if (padded > MaxBatchTokens || (end - start >= MinCallSequences && waste > MaxPaddingFraction))
                    break;
                real += sortedLengths[end];
                end++;
            }
            yield return start..end;
            start = end;
        }
    }
}
