using Service.Models.Lm;

namespace Service.Training.Lm;

/// <summary>A sequence of the task: its tokens (ending with the query's arrow) and the label token that should follow.</summary>
/// <param name="LabelPositions">Positions whose next token is a label (each demonstration's arrow, then the query's), for training on all of them.</param>
public sealed record InContextSequence(int[] Tokens, int Target, int[] LabelPositions, int[] Labels);

/// <summary>
/// Episodes of in-context classification that only the demonstrations can solve (issue 18), in the token layout of
/// <see cref="InContextVocabulary"/>: every sequence draws a fresh random assignment of label tokens to clusters, so the
/// label of the query can only be read off a demonstration of the same cluster. Accuracy then grows with the number of
/// demonstrations, as the chance that the query's cluster was shown does: 1 − (1 − 1/C)^k.
/// </summary>
/// <remarks>
/// <code>
/// π                 // [C] this sequence's labels: a random permutation of the C labels
/// sequence          // BOS, (x_i → π(x_i mod C) ;) for i = 1..k, x_q →      and the target is π(x_q mod C)
/// </code>
/// </remarks>
public sealed class InContextTask(int clusters = 32, int perCluster = 2)
{
    public InContextVocabulary Layout { get; } = new(clusters, perCluster);
    public int Clusters => Layout.Clusters;
    public int Inputs => Layout.Inputs;
    public int Arrow => Layout.Arrow;
    public int Begin => Layout.Begin;
    public int Vocabulary => Layout.Size;

    public static int DemonstrationsPerWindow(int window) => InContextVocabulary.DemonstrationsPerWindow(window);

    public int LabelOf(int input, int[] permutation) => Layout.LabelToken(permutation[input % Clusters]);

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
        var tokens = Layout.Sequence(demos.Select(x => (x, permutation[x % Clusters])), query);
        int[] positions = [.. Enumerable.Range(0, demos.Count + 1).Select(i => i < demos.Count ? 2 + InContextVocabulary.DemonstrationTokens * i : tokens.Length - 1)];
        int[] labels = [.. demos.Append(query).Select(x => LabelOf(x, permutation))];
        return new InContextSequence(tokens, LabelOf(query, permutation), positions, labels);
    }
}
