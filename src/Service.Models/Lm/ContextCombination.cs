namespace Service.Models.Lm;

/// <summary>How NBCE pools the per-chunk log-probabilities.</summary>
public enum NbcePooling
{
    /// <summary>The chunk whose next-token distribution has the lowest entropy: the one most sure of the answer.</summary>
    MinEntropy,

    /// <summary>The mean of log p(T | S_k) over the chunks.</summary>
    Mean,
}

/// <summary>
/// Reads a context longer than the model's window as n chunks S_1..S_n, each run with the same question, and combines
/// their next-token distributions into one: NBCE and its two baselines.
/// </summary>
/// <remarks>
/// <para>NBCE (Naive Bayes-based Context Extension; Su et al., NAACL 2024), from naive Bayes with the chunks independent
/// given the answer T: p(T | S) ∝ p(T) Π_k p(T | S_k) / p(T), generalised with β and a pooling of the chunks:</para>
/// <code>
/// log p(T | S) = (β + 1) · pool_k log p(T | S_k) − β · log p(T)      then renormalised over the vocabulary
///
/// log p(T | S_k) // [V] the model's log-probabilities of the next token given chunk k and the question
/// log p(T)       // [V] the same with no context at all (the question alone)
/// β              // ≈ 0.25 in the paper: how strongly the context outweighs the prior
/// pool           // min-entropy (the most certain chunk) or the mean over chunks
/// </code>
/// <para>Baselines: truncation keeps only the last chunk (what fits the window); the probability average
/// log mean_k p(T | S_k) is what parallel context windows (PCW) amount to for one next token.</para>
/// </remarks>
public static class ContextCombination
{
    /// <summary>NBCE over <paramref name="chunks"/> [n][V] with the context-free <paramref name="prior"/> [V]; returns log p(T | S) [V].</summary>
    public static double[] Nbce(IReadOnlyList<double[]> chunks, double[] prior, double beta, NbcePooling pooling)
    {
        Check(chunks, prior.Length);
        var pooled = pooling == NbcePooling.Mean
            ? Mean(chunks)
            : chunks[MostCertainChunk(chunks)];
        var combined = new double[prior.Length];
        for (var v = 0; v < combined.Length; v++)
            combined[v] = (beta + 1) * pooled[v] - beta * prior[v];
        return LogSoftmax(combined);
    }

    /// <summary>The index of the chunk with the lowest entropy: the one min-entropy pooling takes (the first on ties).</summary>
    public static int MostCertainChunk(IReadOnlyList<double[]> chunks)
    {
        Check(chunks, chunks.Count > 0 ? chunks[0].Length : 0);
        var best = 0;
        for (var k = 1; k < chunks.Count; k++)
        {
            if (Entropy(chunks[k]) < Entropy(chunks[best]))
                best = k;
        }
        return best;
    }

    /// <summary>Only the last chunk: what a model that truncates its context to the window sees.</summary>
    public static double[] Truncation(IReadOnlyList<double[]> chunks)
    {
        Check(chunks, chunks.Count > 0 ? chunks[0].Length : 0);
        return LogSoftmax(chunks[^1]);
    }

    /// <summary>log mean_k p(T | S_k), the chunks' probabilities averaged (PCW-like).</summary>
    public static double[] ProbabilityAverage(IReadOnlyList<double[]> chunks)
    {
        Check(chunks, chunks.Count > 0 ? chunks[0].Length : 0);
        var vocabulary = chunks[0].Length;
        var output = new double[vocabulary];
        for (var v = 0; v < vocabulary; v++)
        {
            var max = chunks.Max(c => c[v]);
            output[v] = max + Math.Log(chunks.Average(c => Math.Exp(c[v] - max))); // log-sum-exp, stable
        }
        return LogSoftmax(output);
    }

    /// <summary>H = −Σ p log p of a log-probability vector.</summary>
    public static double Entropy(double[] logProbabilities) =>
        -logProbabilities.Where(double.IsFinite).Sum(l => Math.Exp(l) * l);

    /// <summary>x − log Σ exp x.</summary>
    public static double[] LogSoftmax(double[] x)
    {
        var max = x.Max();
        var log = max + Math.Log(x.Sum(v => Math.Exp(v - max)));
        return [.. x.Select(v => v - log)];
    }

    static double[] Mean(IReadOnlyList<double[]> chunks)
    {
        var mean = new double[chunks[0].Length];
        foreach (var chunk in chunks)
        {
            for (var v = 0; v < mean.Length; v++)
                mean[v] += chunk[v] / chunks.Count;
        }
        return mean;
    }

    static void Check(IReadOnlyList<double[]> chunks, int vocabulary)
    {
        if (chunks.Count == 0)
            throw new ArgumentException("At least one chunk is needed.", nameof(chunks));
        if (vocabulary == 0 || chunks.Any(c => c.Length != vocabulary))
            throw new ArgumentException("Every chunk (and the prior) must hold one log-probability per vocabulary entry.", nameof(chunks));
    }
}
