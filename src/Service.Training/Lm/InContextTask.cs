namespace Service.Training.Lm;

/// <summary>A sequence of the task: its tokens (ending with the query's arrow) and the label token that should follow.</summary>
/// <param name="LabelPositions">Positions whose next token is a label (each demonstration's arrow, then the query's), for training on all of them.</param>
public sealed record InContextSequence(int[] Tokens, int Target, int[] LabelPositions, int[] Labels);

/// <summary>
/// In-context classification that only the demonstrations can solve (issue 18): each input token belongs to a fixed
/// cluster, and every sequence draws a fresh random assignment of label tokens to clusters, so the label of the query
/// can only be read off a demonstration of the same cluster. Accuracy then grows with the number of demonstrations,
/// as the chance that the query's cluster was shown does: 1 − (1 − 1/C)^k.
/// </summary>
/// <remarks>
/// <code>
/// C                 // clusters = label tokens
/// X = C · perCluster // input tokens; input x is in cluster x mod C
/// π                 // [C] this sequence's labels: a random permutation of the C label tokens
/// sequence          // BOS, (x_i → π(x_i mod C) ;) for i = 1..k, x_q →      and the target is π(x_q mod C)
/// </code>
/// Token ids: inputs 0..X−1, labels X..X+C−1, then →, ;, BOS.
/// </remarks>
public sealed class InContextTask(int clusters = 32, int perCluster = 2)
{
    public int Clusters { get; } = clusters;
    public int Inputs { get; } = clusters * perCluster;
    public int Arrow => Inputs + Clusters;
    public int Separator => Inputs + Clusters + 1;
    public int Begin => Inputs + Clusters + 2;
    public int Vocabulary => Inputs + Clusters + 3;

    /// <summary>Tokens per demonstration: x, →, y, ;.</summary>
    public const int DemonstrationTokens = 4;

    /// <summary>The most demonstrations that fit a window of <paramref name="window"/> tokens with BOS and the query.</summary>
    public static int DemonstrationsPerWindow(int window) => (window - 3) / DemonstrationTokens;

    public int LabelOf(int input, int[] permutation) => Inputs + permutation[input % Clusters];

    /// <summary>One sequence of <paramref name="demonstrations"/> demonstrations and a query, with a fresh label assignment.</summary>
    public InContextSequence Sample(Random random, int demonstrations)
    {
        var (demos, query, permutation) = Draw(random, demonstrations);
        return Build(demos, query, permutation);
    }

    /// <summary>
    /// The same episode as <see cref="Sample"/> would draw, cut for a model whose window holds <paramref name="window"/>
    /// tokens: one sequence per chunk of demonstrations, each with the query; plus the query alone (the prior p(T)).
    /// </summary>
    public (InContextSequence[] Chunks, InContextSequence Prior) SampleChunked(Random random, int demonstrations, int window)
    {
        var (demos, query, permutation) = Draw(random, demonstrations);
        var size = DemonstrationsPerWindow(window);
        var chunks = demos.Chunk(size).Select(chunk => Build(chunk, query, permutation)).DefaultIfEmpty(Build([], query, permutation)).ToArray();
        return (chunks, Build([], query, permutation));
    }

    (int[] Demos, int Query, int[] Permutation) Draw(Random random, int demonstrations)
    {
        var permutation = Enumerable.Range(0, Clusters).ToArray();
        random.Shuffle(permutation);
        var demos = Enumerable.Range(0, demonstrations).Select(_ => random.Next(Inputs)).ToArray();
        return (demos, random.Next(Inputs), permutation);
    }

    InContextSequence Build(IReadOnlyList<int> demos, int query, int[] permutation)
    {
        var tokens = new List<int> { Begin };
        var positions = new List<int>();
        var labels = new List<int>();
        foreach (var x in demos)
        {
            tokens.AddRange([x, Arrow]);
            positions.Add(tokens.Count - 1);
            labels.Add(LabelOf(x, permutation));
            tokens.AddRange([LabelOf(x, permutation), Separator]);
        }
        tokens.AddRange([query, Arrow]);
        positions.Add(tokens.Count - 1);
        labels.Add(LabelOf(query, permutation));
        return new InContextSequence([.. tokens], LabelOf(query, permutation), [.. positions], [.. labels]);
    }
}
