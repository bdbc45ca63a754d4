using Service.Models.Diagnostics;

namespace Service.Tests.Diagnostics;

/// <summary>
/// Each sparsity measure against the six axioms of Hurley &amp; Rickard (2009), on random non-negative vectors. The table
/// below is docs/results/seed-lm.md's: a measure satisfies an axiom when no sampled case breaks it, and fails it when one
/// does; the test fails if either differs from the table.
/// </summary>
public sealed class SparsityAxiomTests
{
    const double Epsilon = 0.05; // the zero threshold of the ε-count
    const int Trials = 400;

    public static readonly Dictionary<string, Func<double[], double>> Measures = new()
    {
        ["zero fraction (ε = 0.05)"] = x => SparsityMeasures.ZeroFraction(x, Epsilon),
        ["l1/l2"] = x => SparsityMeasures.L1L2(x),
        ["Hoyer"] = x => SparsityMeasures.Hoyer(x),
        ["entropy"] = x => SparsityMeasures.Entropy(x),
        ["Gini"] = x => SparsityMeasures.Gini(x),
    };

    /// <summary>Robin Hood, Scaling, Rising Tide, Cloning, Bill Gates, Babies.</summary>
    public static readonly Dictionary<string, bool[]> Table = new()
    {
        ["zero fraction (ε = 0.05)"] = [false, false, false, true, false, true],
        ["l1/l2"] = [true, true, true, true, true, true],
        ["Hoyer"] = [true, true, true, false, true, true],
        ["entropy"] = [true, true, true, false, true, true],
        ["Gini"] = [true, true, true, true, true, true],
    };

    static readonly string[] Axioms = ["Robin Hood", "Scaling", "Rising Tide", "Cloning", "Bill Gates", "Babies"];

    public static TheoryData<string> Names => [.. Measures.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public void The_measure_satisfies_exactly_the_axioms_its_table_row_says(string name)
    {
        var s = Measures[name];
        bool[] measured = [RobinHood(s), Scaling(s), RisingTide(s), Cloning(s), BillGates(s), Babies(s)];
        for (var a = 0; a < Axioms.Length; a++)
            Assert.True(Table[name][a] == measured[a], $"{name}: {Axioms[a]} is {(measured[a] ? "satisfied" : "broken")}, the table says otherwise.");
    }

    [Fact]
    public void Hand_computed_values()
    {
        double[] flat = [1, 1, 1, 1];
        double[] spike = [0, 0, 3, 0];
        double[] mixed = [1, 0, 3, 0];
        Assert.Equal(0, SparsityMeasures.Hoyer(flat), 12);
        Assert.Equal(1, SparsityMeasures.Hoyer(spike), 12);
        Assert.Equal(0.5, SparsityMeasures.L1L2(spike), 12); // 1 − 3/(2·3)
        Assert.Equal(1 - 4 / (2 * Math.Sqrt(10)), SparsityMeasures.L1L2(mixed), 12);
        Assert.Equal(0.5, SparsityMeasures.ZeroFraction(mixed, 0), 12);
        Assert.Equal(1, SparsityMeasures.Entropy(spike), 12);
        Assert.Equal(1 - (-(0.25 * Math.Log(0.25) + 0.75 * Math.Log(0.75))) / Math.Log(4), SparsityMeasures.Entropy(mixed), 12);
        Assert.Equal(0, SparsityMeasures.Gini(flat), 12);
        Assert.Equal(0.75, SparsityMeasures.Gini(spike), 12); // 1 − 1/n
        // sorted [0, 0, 1, 3]/4: 1 − 2 (0.25 · 1.5/4 + 0.75 · 0.5/4)
        Assert.Equal(1 - 2 * (0.25 * 1.5 / 4 + 0.75 * 0.5 / 4), SparsityMeasures.Gini(mixed), 12);
        Assert.Equal(SparsityMeasures.Gini([-1, 0, 3, 0]), SparsityMeasures.Gini(mixed), 12); // signs ignored
    }

    static double[] Vector(Random random)
    {
        var n = random.Next(3, 13);
        var x = new double[n];
        for (var i = 0; i < n; i++)
            x[i] = random.NextDouble() < 0.3 ? random.NextDouble() * Epsilon : random.NextDouble();
        x[random.Next(n)] = 0.5 + random.NextDouble(); // never all zero, never all equal
        return x;
    }

    static bool Holds(Func<Random, bool> trial)
    {
        var random = new Random(17);
        for (var t = 0; t < Trials; t++)
        {
            if (!trial(random))
                return false;
        }
        return true;
    }

    static bool Same(double a, double b) => Math.Abs(a - b) <= 1e-12 * Math.Max(1, Math.Abs(a));

    /// <summary>D1: moving α &lt; (c_i − c_j)/2 from a richer entry to a poorer one makes the vector less sparse.</summary>
    static bool RobinHood(Func<double[], double> s) => Holds(random =>
    {
        var x = Vector(random);
        var order = Enumerable.Range(0, x.Length).OrderBy(i => x[i]).ToArray();
        var (poor, rich) = (order[random.Next(x.Length / 2)], order[^1]);
        var alpha = (x[rich] - x[poor]) / 2 * (0.05 + 0.9 * random.NextDouble());
        var y = (double[])x.Clone();
        y[rich] -= alpha;
        y[poor] += alpha;
        return s(y) < s(x);
    });

    /// <summary>D2: S(αc) = S(c) for α &gt; 0.</summary>
    static bool Scaling(Func<double[], double> s) => Holds(random =>
    {
        var x = Vector(random);
        var alpha = Math.Exp(random.NextDouble() * 8 - 4);
        return Same(s(x), s([.. x.Select(v => v * alpha)]));
    });

    /// <summary>D3: adding α &gt; 0 to every entry makes the vector less sparse.</summary>
    static bool RisingTide(Func<double[], double> s) => Holds(random =>
    {
        var x = Vector(random);
        var alpha = 0.01 + random.NextDouble();
        return s([.. x.Select(v => v + alpha)]) < s(x);
    });

    /// <summary>D4: S(c ‖ c) = S(c).</summary>
    static bool Cloning(Func<double[], double> s) => Holds(random =>
    {
        var x = Vector(random);
        return Same(s(x), s([.. x, .. x]));
    });

    /// <summary>P1: one entry growing without bound eventually makes the vector ever sparser (β large, then larger).</summary>
    static bool BillGates(Func<double[], double> s) => Holds(random =>
    {
        var x = Vector(random);
        var i = random.Next(x.Length);
        var beta = 100 * x.Sum();
        var y = (double[])x.Clone();
        y[i] += beta;
        var z = (double[])y.Clone();
        z[i] += beta * (0.5 + random.NextDouble());
        return s(z) > s(y);
    });

    /// <summary>P2: appending a zero makes the vector sparser.</summary>
    static bool Babies(Func<double[], double> s) => Holds(random =>
    {
        var x = Vector(random);
        return s([.. x, 0]) > s(x);
    });
}
