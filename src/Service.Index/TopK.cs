namespace Service.Index;

/// <summary>Indices of the k largest values, best first; ties go to the lower index.</summary>
public static class TopK
{
    /// <param name="values">Scores [N]; entries equal to −∞ mark excluded items and are never selected.</param>
    /// <returns>At most k indices, by descending value.</returns>
    public static int[] Select(ReadOnlySpan<float> values, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (k == 0)
            return [];

        // A min-heap of the k best so far, its root the worst of them: O(N log k), and most items fail the one comparison with the root.
        // The root's value is kept in a local, so the common case is one float comparison per item.
        var heap = new PriorityQueue<int, (float Value, int Index)>(k, WorstFirst.Instance);
        var worst = float.NegativeInfinity;
        for (var i = 0; i < values.Length; i++)
        {
            var value = values[i];
            if (heap.Count < k && !float.IsNegativeInfinity(value))
                heap.Enqueue(i, (value, i));
            else if (heap.Count == k && value > worst)
                heap.DequeueEnqueue(i, (value, i));
            else
                continue;
            if (heap.Count == k && heap.TryPeek(out _, out var root))
                worst = root.Value;
        }

        var selected = new int[heap.Count];
        for (var i = selected.Length - 1; i >= 0; i--)
            selected[i] = heap.Dequeue();
        return selected;
    }

    sealed class WorstFirst : IComparer<(float Value, int Index)>
    {
        public static readonly WorstFirst Instance = new();

        public int Compare((float Value, int Index) x, (float Value, int Index) y)
        {
            var byValue = x.Value.CompareTo(y.Value);
            return byValue != 0 ? byValue : y.Index.CompareTo(x.Index);
        }
    }
}
