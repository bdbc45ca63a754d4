namespace Service.Index;

/// <summary>
/// Bi-encoder embeddings of an index's items, the first stage of the de-rerank baseline: unit vectors kept as the columns of
/// B [d × N] in the index's item order (tombstones included), so a query's cosines to every item are one [1 × d] by [d × N]
/// product, the same blocked kernel as ŝ = c E.
/// </summary>
/// <remarks>
/// One writer at a time appends the columns of items the index has just gained (<see cref="Append"/>); searches read the first
/// <see cref="Count"/> columns, so an item inserted into the index but not yet embedded is only invisible to de-rerank.
/// </remarks>
public sealed class ItemEmbeddings
{
    /// <summary>Texts per bi-encoder call while embedding a whole index.</summary>
    public const int BatchSize = 64;

    readonly ColumnAppendMatrix vectors; // B [d × N]

    public ItemEmbeddings(int dimensions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        vectors = ColumnAppendMatrix.Empty(dimensions);
    }

    public int Count => vectors.Columns;

    public int Dimensions => vectors.Rows;

    /// <summary>Embeds every item position of <paramref name="snapshot"/>, <see cref="BatchSize"/> texts per call.</summary>
    public static async Task<ItemEmbeddings> ComputeAsync(AnchorIndexSnapshot snapshot, ITextEmbedder embedder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(embedder);
        var embeddings = new ItemEmbeddings(embedder.Dimensions);
        for (var start = 0; start < snapshot.Count; start += BatchSize)
        {
            var texts = Enumerable.Range(start, Math.Min(BatchSize, snapshot.Count - start)).Select(snapshot.Text).ToArray();
            embeddings.Append(await embedder.EmbedAsync(texts, cancellationToken).ConfigureAwait(false));
        }
        return embeddings;
    }

    /// <summary>Appends the vectors of the next items, in the order the index appended them.</summary>
    public void Append(IReadOnlyList<float[]> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var d = Dimensions;
        var block = new float[d * batch.Count]; // [d × m]
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i].Length != d)
                throw new ArgumentException($"Vector {i} has {batch[i].Length} dimensions; expected {d}.", nameof(batch));
            for (var r = 0; r < d; r++)
                block[r * batch.Count + i] = batch[i][r];
        }
        vectors.AppendColumns(block, batch.Count);
    }

    /// <summary>The live items of <paramref name="snapshot"/> with the highest cosine to the query, best first.</summary>
    /// <param name="query">A unit vector [d].</param>
    /// <returns>At most <paramref name="count"/> item positions.</returns>
    public int[] Shortlist(ReadOnlySpan<float> query, AnchorIndexSnapshot snapshot, int count)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var view = vectors.Current;
        var cosines = new float[Math.Min(view.Columns, snapshot.Count)];
        CurApproximator.Combine(query, view, 0, cosines);
        for (var i = 0; i < cosines.Length; i++)
            if (!snapshot.IsLive(i))
                cosines[i] = float.NegativeInfinity; // the mark TopK.Select skips
        return TopK.Select(cosines, count);
    }
}
