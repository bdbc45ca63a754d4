using System.Globalization;

namespace Service.Models.Lm;

/// <summary>
/// The token layout of the in-context classification task the served causal LMs are trained on: X input tokens in C
/// clusters (input x is in cluster x mod C), C label tokens, and BOS. A sequence reads <c>BOS x₁ y₁ x₂ y₂ … x_q</c>,
/// and the model's next token after the query is its answer.
/// </summary>
/// <remarks>
/// <code>
/// ids   inputs 0..X−1 ("x0".."x{X−1}"), labels X..X+C−1 ("y0".."y{C−1}"), then BOS (Begin)
/// </code>
/// Which label goes with which cluster is not fixed: training draws a fresh assignment for every sequence, so only the
/// demonstrations in the context can tell the answer. Each label follows its input directly: with → and ; markers
/// between them no model learned the task (docs/results/seed-lm.md), because the copy then has to reach two tokens
/// past the match instead of one, as an induction head does.
/// </remarks>
public sealed record InContextVocabulary(int Clusters, int PerCluster)
{
    /// <summary>Tokens per demonstration: x, y.</summary>
    public const int DemonstrationTokens = 2;

    public const string BeginText = "<s>";

    public int Inputs => Clusters * PerCluster;
    public int Begin => Inputs + Clusters;
    public int Size => Inputs + Clusters + 1;

    /// <summary>The most demonstrations that fit a window of <paramref name="window"/> tokens with BOS and the query.</summary>
    public static int DemonstrationsPerWindow(int window) => (window - 2) / DemonstrationTokens;

    public int LabelToken(int label) => Inputs + label;

    public string InputName(int input) => "x" + input.ToString(CultureInfo.InvariantCulture);

    public string LabelName(int label) => "y" + label.ToString(CultureInfo.InvariantCulture);

    /// <summary>"x12" → 12 when 0 ≤ 12 &lt; X.</summary>
    public bool TryParseInput(string? text, out int input) => TryParse(text, 'x', Inputs, out input);

    /// <summary>"y3" → 3 when 0 ≤ 3 &lt; C.</summary>
    public bool TryParseLabel(string? text, out int label) => TryParse(text, 'y', Clusters, out label);

    /// <summary>BOS, then each demonstration as x y, then the query x: the ids one window reads.</summary>
    public int[] Sequence(IEnumerable<(int Input, int Label)> demonstrations, int query)
    {
        var tokens = new List<int> { Begin };
        foreach (var (input, label) in demonstrations)
            tokens.AddRange([input, LabelToken(label)]);
        tokens.Add(query);
        return [.. tokens];
    }

    /// <summary>
    /// A context longer than the window, cut into chunks of whole demonstrations that each fit it with the query, in
    /// order; an empty context gives one chunk holding only the query.
    /// </summary>
    public int[][] Chunks(IReadOnlyList<(int Input, int Label)> demonstrations, int query, int window) =>
        [.. ChunkDemonstrations(demonstrations, window).Select(chunk => Sequence(chunk, query))];

    /// <summary>Demonstrations in order, cut into runs that each fit a window with BOS and the query; none gives one empty run.</summary>
    public static IEnumerable<T[]> ChunkDemonstrations<T>(IReadOnlyList<T> demonstrations, int window)
    {
        var size = DemonstrationsPerWindow(window);
        if (size < 1)
            throw new ArgumentException($"A window of {window} tokens holds no demonstration.", nameof(window));
        return demonstrations.Count == 0 ? [[]] : demonstrations.Chunk(size);
    }

    /// <summary>Space-separated token names (&lt;s&gt; x3 y7 x5) to ids; <paramref name="error"/> names the first unknown token.</summary>
    public bool TryEncode(string text, out int[] ids, out string? error)
    {
        var tokens = new List<int>();
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (TryParseInput(word, out var input))
                tokens.Add(input);
            else if (TryParseLabel(word, out var label))
                tokens.Add(LabelToken(label));
            else if (word == BeginText)
                tokens.Add(Begin);
            else
            {
                (ids, error) = ([], word);
                return false;
            }
        }
        (ids, error) = ([.. tokens], null);
        return true;
    }

    /// <summary>The name of token <paramref name="id"/>.</summary>
    public string Name(int id) =>
        id < Inputs ? InputName(id) : id < Begin ? LabelName(id - Inputs) : BeginText;

    static bool TryParse(string? text, char prefix, int count, out int value)
    {
        value = -1;
        return text is { Length: > 1 } && text[0] == prefix
            && int.TryParse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out value) && value < count;
    }
}
