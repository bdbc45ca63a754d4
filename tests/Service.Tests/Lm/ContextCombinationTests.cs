using Service.Models.Lm;

namespace Service.Tests.Lm;

/// <summary>NBCE and its baselines against hand-computed cases over a three-token vocabulary.</summary>
public sealed class ContextCombinationTests
{
    static double[] Log(params double[] p) => [.. p.Select(x => Math.Log(x))];

    // Chunk 1 is sure of token 0; chunk 2 is unsure and leans to token 1; the prior favours token 1.
    static readonly double[][] Chunks = [Log(0.8, 0.1, 0.1), Log(0.3, 0.4, 0.3)];
    static readonly double[] Prior = Log(0.2, 0.6, 0.2);

    [Fact]
    public void Nbce_with_min_entropy_pooling_takes_the_surest_chunk_and_divides_out_the_prior()
    {
        var combined = ContextCombination.Nbce(Chunks, Prior, beta: 0.25, NbcePooling.MinEntropy);

        // (β + 1) log p(T|S_1) − β log p(T): unnormalised p ∝ 0.8^1.25 / 0.2^0.25, 0.1^1.25 / 0.6^0.25, 0.1^1.25 / 0.2^0.25
        double[] raw = [Math.Pow(0.8, 1.25) / Math.Pow(0.2, 0.25), Math.Pow(0.1, 1.25) / Math.Pow(0.6, 0.25), Math.Pow(0.1, 1.25) / Math.Pow(0.2, 0.25)];
        for (var v = 0; v < 3; v++)
            Assert.Equal(raw[v] / raw.Sum(), Math.Exp(combined[v]), 12);
    }

    [Fact]
    public void Nbce_with_mean_pooling_averages_the_log_probabilities()
    {
        var combined = ContextCombination.Nbce(Chunks, Prior, beta: 0, NbcePooling.Mean);

        // β = 0: the normalised geometric mean of the chunks
        double[] raw = [Math.Sqrt(0.8 * 0.3), Math.Sqrt(0.1 * 0.4), Math.Sqrt(0.1 * 0.3)];
        for (var v = 0; v < 3; v++)
            Assert.Equal(raw[v] / raw.Sum(), Math.Exp(combined[v]), 12);
    }

    [Fact]
    public void Truncation_keeps_the_last_chunk_and_the_average_mixes_the_probabilities()
    {
        var truncated = ContextCombination.Truncation(Chunks);
        var averaged = ContextCombination.ProbabilityAverage(Chunks);

        Assert.Equal([0.3, 0.4, 0.3], truncated.Select(x => Math.Exp(x)), new Tolerance(1e-12));
        Assert.Equal([0.55, 0.25, 0.2], averaged.Select(x => Math.Exp(x)), new Tolerance(1e-12));
    }

    [Fact]
    public void With_one_chunk_and_beta_zero_every_method_is_that_chunk()
    {
        double[][] one = [Log(0.5, 0.3, 0.2)];
        foreach (var combined in new[]
        {
            ContextCombination.Nbce(one, Prior, 0, NbcePooling.MinEntropy), ContextCombination.Nbce(one, Prior, 0, NbcePooling.Mean),
            ContextCombination.Truncation(one), ContextCombination.ProbabilityAverage(one),
        })
            Assert.Equal([0.5, 0.3, 0.2], combined.Select(x => Math.Exp(x)), new Tolerance(1e-12));
    }

    [Fact]
    public void Entropy_is_zero_for_a_certain_distribution_and_log_n_for_a_flat_one()
    {
        Assert.Equal(0, ContextCombination.Entropy([0, double.NegativeInfinity, double.NegativeInfinity]), 12);
        Assert.Equal(Math.Log(3), ContextCombination.Entropy(Log(1 / 3.0, 1 / 3.0, 1 / 3.0)), 12);
    }

    sealed class Tolerance(double epsilon) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= epsilon;
        public int GetHashCode(double obj) => 0;
    }
}
