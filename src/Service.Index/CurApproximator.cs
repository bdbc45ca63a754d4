using System.Numerics.Tensors;

namespace Service.Index;

/// <summary>
/// CUR approximation of a query's cross-encoder scores over all N items from its scores on k_i anchor items (ANNCUR,
/// Yadav et al., EMNLP 2022, §3): ŝ = c U R with U = pinv(R[:, anchors]). For a fixed anchor set the item embeddings
/// E = U R are precomputed, so a query costs one k_i × N product, ŝ = c E.
/// </summary>
/// <remarks>
/// <para>Notation:</para>
/// <code>
/// scores       // R [k_q × N], CE(anchor queries, items)
/// anchors      // the k_i anchor items, column indices of R
/// anchorScores // R[:, anchors] [k_q × k_i]
/// u            // U = pinv(R[:, anchors]) [k_i × k_q]
/// embeddings   // E = U R [k_i × N]
/// c            // CE(q, anchor items) [k_i], the query's embedding
/// weights      // w = c U [k_q], the same query expressed over R's rows
/// approximate  // ŝ = c E = w R [N]
/// </code>
/// <para>If R's rows span the query's score row and the anchors keep R's rank, c = s[anchors] pins ŝ = s exactly; otherwise ŝ is
/// the reconstruction of s through the anchor columns. A new item costs k_q CE calls for its column of R and then
/// E_new = U R_new (<see cref="AppendItems"/>); U changes only when the anchor set does.</para>
/// <para>Thread safety: <see cref="Approximate"/> may run concurrently with one <see cref="AppendItems"/> caller.</para>
/// </remarks>
public sealed class CurApproximator
{
    /// <summary>Columns per block of the blocked products: the block of the output row stays in L1 across the k terms.</summary>
    const int BlockColumns = 4096;

    readonly int[] anchors;
    readonly float[] u; // [k_i × k_q]
    readonly ColumnAppendMatrix embeddings; // E [k_i × N]

    /// <param name="scores">R [k_q × N].</param>
    /// <param name="anchors">k_i distinct column indices of R.</param>
    /// <param name="relativeCutoff">rcond of the pseudo-inverse (<see cref="PseudoInverse.DefaultRelativeCutoff"/>).</param>
    public CurApproximator(MatrixRows scores, IReadOnlyCollection<int> anchors, double relativeCutoff)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(anchors);
        this.anchors = [.. anchors];
        if (this.anchors.Length == 0 || this.anchors.Distinct().Count() != this.anchors.Length || this.anchors.Any(item => item < 0 || item >= scores.Columns))
            throw new ArgumentException($"Anchors must be distinct items in [0, {scores.Columns}).", nameof(anchors));
        QueryCount = scores.Rows;
        u = new float[this.anchors.Length * QueryCount];
        Rank = ComputeU(scores, this.anchors, relativeCutoff, u);

        var itemCount = scores.Columns;
        var rows = new float[this.anchors.Length][];
        for (var j = 0; j < rows.Length; j++)
        {
            rows[j] = new float[itemCount];
            Combine(U.Slice(j * QueryCount, QueryCount), scores, 0, rows[j]); // E[j, :] = U[j, :] R
        }
        embeddings = new ColumnAppendMatrix(rows, itemCount);
    }

    public IReadOnlyList<int> Anchors => anchors;

    /// <summary>k_q, the rows of R.</summary>
    public int QueryCount { get; }

    /// <summary>The numerical rank of R[:, anchors] kept by the pseudo-inverse.</summary>
    public int Rank { get; }

    /// <summary>U [k_i × k_q], row-major.</summary>
    public ReadOnlySpan<float> U => u;

    /// <summary>E [k_i × N].</summary>
    public MatrixRows Embeddings => embeddings.Current;

    public int ItemCount => embeddings.Columns;

    /// <summary>Items per parallel chunk of <see cref="Approximate"/>: below this a single core is faster than the fork.</summary>
    const int ParallelChunk = 1 << 16;

    /// <summary>ŝ = c E for the first <c>approximate.Length</c> items, column chunks split across the cores.</summary>
    /// <param name="c">CE(q, anchors) [k_i], in the order of <see cref="Anchors"/>.</param>
    /// <param name="approximate">ŝ [n], n ≤ <see cref="ItemCount"/>.</param>
    public void Approximate(ReadOnlySpan<float> c, float[] approximate)
    {
        ArgumentNullException.ThrowIfNull(approximate);
        if (c.Length != anchors.Length)
            throw new ArgumentException($"Expected {anchors.Length} anchor scores, got {c.Length}.", nameof(c));
        var embeddings = Embeddings;
        if (approximate.Length < 2 * ParallelChunk)
        {
            Combine(c, embeddings, 0, approximate);
            return;
        }
        // Each chunk is an independent k_i × chunk product; it is memory-bound, so one chunk per core is enough.
        var coefficients = c.ToArray();
        var chunks = Math.Min(Environment.ProcessorCount, approximate.Length / ParallelChunk);
        Parallel.For(0, chunks, chunk =>
        {
            var start = (int)((long)approximate.Length * chunk / chunks);
            var end = (int)((long)approximate.Length * (chunk + 1) / chunks);
            Combine(coefficients, embeddings, start, approximate.AsSpan(start, end - start));
        });
    }

    /// <summary>E[:, old N..] = U R[:, old N..]: extends E to the columns R has gained. One writer at a time.</summary>
    /// <param name="scores">R [k_q × N'] with N' ≥ <see cref="ItemCount"/>, unchanged in its first columns.</param>
    public void AppendItems(MatrixRows scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Rows != QueryCount)
            throw new ArgumentException($"R has {scores.Rows} rows, U was built for {QueryCount}.", nameof(scores));
        var from = ItemCount;
        var added = scores.Columns - from;
        ArgumentOutOfRangeException.ThrowIfNegative(added);
        var block = new float[anchors.Length * added]; // E_new [k_i × m]
        for (var j = 0; j < anchors.Length; j++)
            Combine(U.Slice(j * QueryCount, QueryCount), scores, from, block.AsSpan(j * added, added));
        embeddings.AppendColumns(block, added);
    }

    public bool UsesAnchor(int item) => Array.IndexOf(anchors, item) >= 0;

    /// <summary>A = R[:, anchors] [k_q × k_i], row-major.</summary>
    public static void AnchorScores(MatrixRows scores, ReadOnlySpan<int> anchors, Span<float> anchorScores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (anchorScores.Length != scores.Rows * anchors.Length)
            throw new ArgumentException($"R[:, anchors] needs {scores.Rows * anchors.Length} values, got {anchorScores.Length}.");
        for (var t = 0; t < scores.Rows; t++)
        {
            var row = scores.Row(t);
            for (var j = 0; j < anchors.Length; j++)
                anchorScores[t * anchors.Length + j] = row[anchors[j]];
        }
    }

    /// <summary>U = pinv(R[:, anchors]) [k_i × k_q].</summary>
    /// <returns>The numerical rank of R[:, anchors].</returns>
    public static int ComputeU(MatrixRows scores, ReadOnlySpan<int> anchors, double relativeCutoff, Span<float> u)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var anchorScores = new float[scores.Rows * anchors.Length];
        AnchorScores(scores, anchors, anchorScores);
        return PseudoInverse.Compute(anchorScores, scores.Rows, anchors.Length, relativeCutoff, u);
    }

    /// <summary>w = c U [k_q]: the query's weights over R's rows, so that ŝ = w R without forming E.</summary>
    /// <param name="u">U [k_i × k_q].</param>
    public static void Weights(ReadOnlySpan<float> c, ReadOnlySpan<float> u, Span<float> weights)
    {
        if (u.Length != c.Length * weights.Length)
            throw new ArgumentException($"U must be [{c.Length} × {weights.Length}], got {u.Length} values.");
        weights.Clear();
        for (var j = 0; j < c.Length; j++)
            TensorPrimitives.MultiplyAdd(u.Slice(j * weights.Length, weights.Length), c[j], weights, weights);
    }

    /// <summary>output[n] = Σ_t coefficients[t] · rows[t, from + n]: a [1 × k] by [k × n] product, blocked over columns.</summary>
    public static void Combine(ReadOnlySpan<float> coefficients, MatrixRows rows, int from, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (coefficients.Length != rows.Rows)
            throw new ArgumentException($"Expected {rows.Rows} coefficients, got {coefficients.Length}.", nameof(coefficients));
        if (from < 0 || from + output.Length > rows.Columns)
            throw new ArgumentOutOfRangeException(nameof(output), $"Columns [{from}, {from + output.Length}) exceed the {rows.Columns} available.");

        for (var start = 0; start < output.Length; start += BlockColumns)
        {
            var length = Math.Min(BlockColumns, output.Length - start);
            var block = output.Slice(start, length);
            block.Clear();
            for (var t = 0; t < coefficients.Length; t++)
                TensorPrimitives.MultiplyAdd(rows.Row(t).Slice(from + start, length), coefficients[t], block, block);
        }
    }
}
