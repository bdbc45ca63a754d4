namespace Service.Index;

/// <summary>
/// An immutable view of the first <see cref="Columns"/> columns of a row-major float32 matrix whose rows may be longer.
/// </summary>
public sealed class MatrixRows
{
    readonly float[][] rows;

    /// <param name="rows">One array per row, each at least <paramref name="columns"/> long; not copied.</param>
    public MatrixRows(float[][] rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (rows.Any(row => row.Length < columns))
            throw new ArgumentException($"Every row needs at least {columns} values.", nameof(rows));
        this.rows = rows;
        Columns = columns;
    }

    public int Rows => rows.Length;

    public int Columns { get; }

    public ReadOnlySpan<float> Row(int row) => rows[row].AsSpan(0, Columns);

    public float this[int row, int column] => Row(row)[column];

    /// <summary>The whole backing array of a row; only <see cref="ColumnAppendMatrix"/>'s writer touches what lies past <see cref="Columns"/>.</summary>
    internal float[] Backing(int row) => rows[row];
}

/// <summary>
/// A rows × columns float32 matrix kept row by row, each row with spare capacity, so columns (items) can be appended in
/// place while readers keep using a <see cref="MatrixRows"/> view they took earlier.
/// </summary>
/// <remarks>
/// One writer at a time (callers serialise appends); any number of readers. An append writes past the published column
/// count and then publishes a new view; a growth copies every row into new arrays first. A reader therefore sees either the
/// old rows or complete new ones, and never reads past the count of its view. Capacity doubles, so appending m columns
/// one at a time costs O(rows·m) amortised.
/// </remarks>
public sealed class ColumnAppendMatrix
{
    MatrixRows current;

    /// <param name="rows">The initial rows, each exactly <paramref name="columns"/> or more long; adopted, not copied.</param>
    public ColumnAppendMatrix(float[][] rows, int columns) => current = new MatrixRows(rows, columns);

    public static ColumnAppendMatrix Empty(int rows) =>
        new(Enumerable.Range(0, rows).Select(_ => Array.Empty<float>()).ToArray(), 0);

    public MatrixRows Current => Volatile.Read(ref current);

    public int Rows => Current.Rows;

    public int Columns => Current.Columns;

    /// <param name="block">The new columns [Rows × count], row-major.</param>
    public void AppendColumns(ReadOnlySpan<float> block, int count)
    {
        var view = Current;
        var rows = view.Rows;
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (block.Length != rows * count)
            throw new ArgumentException($"A block of {count} columns needs {rows * count} values, got {block.Length}.", nameof(block));
        if (count == 0)
            return;

        var columns = view.Columns;
        var arrays = new float[rows][];
        for (var r = 0; r < rows; r++)
        {
            var old = view.Backing(r);
            if (old.Length < columns + count)
            {
                var grown = new float[Math.Max(columns + count, Math.Max(16, 2 * old.Length))];
                old.AsSpan(0, columns).CopyTo(grown);
                old = grown;
            }
            block.Slice(r * count, count).CopyTo(old.AsSpan(columns));
            arrays[r] = old;
        }
        Volatile.Write(ref current, new MatrixRows(arrays, columns + count));
    }
}
