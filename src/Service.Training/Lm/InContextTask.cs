using Service.Models.Lm;

namespace Service.Training.Lm;

/// <summary>A sequence of the task: its tokens (ending with the query) and the label token that should follow.</summary>
/// <param name="LabelPositions">Positions whose next token is a label (each demonstration's input, then the query), for training on all of them.</param>
public sealed record InContextSequence(int[] Tokens, int Target, int[] LabelPositions, int[] Labels);

/// <summary>
/// Episodes of in-context classification that only the demonstrations can solve (issue 18), in the token layout of
/// <see cref="InContextVocabulary"/>: every sequence draws a fresh random assignment of label tokens to clusters, so the
/// label of the query can only be read off a demonstration of the same cluster. Accuracy then grows with the number of
/// demonstrations, as the chance that the query's cluster was shown does: 1 − (1 − 1/C)^k.
/// </summary>
/// <remarks>
/// <code>
/// π                 // [C] this sequence's labels: each cluster's label drawn uniformly from the C labels, with replacement
/// sequence          // BOS, (x_i π(x_i mod C)) for i = 1..k, x_q      and the target is π(x_q mod C)
/// </code>
/// Why with replacement: under a permutation every label is equally frequent in every context, so a model that copies
/// labels it has seen gains nothing until it also matches the input, and training sat at exactly ln C for thousands of
/// steps (docs/results/seed-lm.md). Labels drawn independently make the labels in context informative on their own,
/// which gives the copying heads a gradient to form before the matching does.
/// </remarks>
public sealed class InContextTask(int clusters = 32, int perCluster = 2)
{
    public InContextVocabulary Layout { get; } = new(clusters, perCluster);
    public int Clusters => Layout.Clusters;
    public int Inputs => Layout.Inputs;
    public int Begin => Layout.Begin;
    public int Vocabulary => Layout.Size;

    public static int DemonstrationsPerWindow(int window) => InContextVocabulary.DemonstrationsPerWindow(window);

    public int LabelOf(int input, int[] assignment) => Layout.LabelToken(assignment[input % Clusters]);

    /// <summary>One sequence of <paramref name="demonstrations"/> demonstrations and a query, with a fresh label assignment.</summary>
    /// <param name="burst">Clusters one sequence draws its inputs from (0: all C). Training with few makes inputs recur
    /// within a sequence, which is what lets copying from a demonstration pay off early (Chan et al. 2022, "bursty" data).</param>
    public InContextSequence Sample(Random random, int demonstrations, int burst = 0)
    {
        var (demos, query, assignment) = Draw(random, demonstrations, burst);
        return Build(demos, query, assignment);
    }

    /// <summary>
    /// The same episode as <see cref="Sample"/> would draw, cut for a model whose window holds <paramref name="window"/>
    /// tokens: one sequence per chunk of demonstrations, each with the query; plus the query alone (the prior p(T)).
    /// </summary>
    public (InContextSequence[] Chunks, InContextSequence Prior) SampleChunked(Random random, int demonstrations, int window)
    {
        var (demos, query, assignment) = Draw(random, demonstrations, 0);
        var chunks = InContextVocabulary.ChunkDemonstrations(demos, window).Select(chunk => Build(chunk, query, assignment)).ToArray();
        return (chunks, Build([], query, assignment));
    }

    (int[] Demos, int Query, int[] Assignment) Draw(Random random, int demonstrations, int burst)
    {
        var assignment = Enumerable.Range(0, Clusters).Select(_ => random.Next(Clusters)).ToArray();
        if (burst <= 0 || burst >= Clusters)
            return ([.. Enumerable.Range(0, demonstrations).Select(_ => random.Next(Inputs))], random.Next(Inputs), assignment);
        var clusters = Enumerable.Range(0, Clusters).OrderBy(_ => random.Next()).Take(burst).ToArray();
        int Input() => clusters[random.Next(burst)] + Clusters * random.Next(Inputs / Clusters); // input x is in cluster x mod C
        return ([.. Enumerable.Range(0, demonstrations).Select(_ => Input())], Input(), assignment);
    }

    InContextSequence Build(IReadOnlyList<int> demos, int query, int[] assignment)
    {
        var tokens = Layout.Sequence(demos.Select(x => (x, assignment[x % Clusters])), query);
        int[] positions = [.. Enumerable.Range(0, demos.Count + 1).Select(i => i < demos.Count ? 1 + InContextVocabulary.DemonstrationTokens * i : tokens.Length - 1)];
        int[] labels = [.. demos.Append(query).Select(x => LabelOf(x, assignment))];
        return new InContextSequence(tokens, LabelOf(query, assignment), positions, labels);
    }
}
