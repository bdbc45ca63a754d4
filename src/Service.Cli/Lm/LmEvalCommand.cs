using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ScottPlot;
using Service.Cli.Text;
using Service.Models.Lm;
using Service.Models.Torch;
using Service.Training.Lm;
using static TorchSharp.torch;

namespace Service.Cli.Lm;

/// <summary>
/// <c>lm eval</c>: accuracy of a trained run against the number of demonstrations k, for context longer than the window
/// read four ways (<see cref="ContextCombination"/>): NBCE with min-entropy pooling, NBCE with mean pooling, truncation
/// to the last window's demonstrations, and the chunks' probabilities averaged. Held-out episodes (a seed no training
/// step uses); the answer is the argmax over the C label tokens. Writes the table and the plot of docs/results/seed-lm.md.
/// </summary>
public static class LmEvalCommand
{
    static readonly string[] Methods = ["NBCE (min-entropy)", "NBCE (mean)", "truncation", "probability average"];

    public static Command Create()
    {
        var run = new Option<string>("--run") { Required = true, Description = "A finished run under data/lm/runs/ (or any run with --model-file)." };
        var modelFile = new Option<string?>("--model-file") { Description = "Weights to evaluate instead of the run's model.pt (e.g. a checkpoint's)." };
        var ks = new Option<string>("--k") { DefaultValueFactory = _ => "4,8,16,32,64,128" };
        var episodes = new Option<int>("--episodes") { DefaultValueFactory = _ => 400 };
        var beta = new Option<double>("--beta") { DefaultValueFactory = _ => 0.25 };
        var report = new Option<string?>("--report") { Description = "docs/results/seed-lm.md to regenerate its NBCE block; none: print only." };
        var command = new Command("eval", "Accuracy against the number of demonstrations: NBCE, truncation and averaging (issue 18).")
        {
            run, modelFile, ks, episodes, beta, report,
        };
        command.SetAction(parse =>
        {
            Evaluate(parse.GetValue(run)!, parse.GetValue(modelFile), [.. parse.GetValue(ks)!.Split(',').Select(int.Parse)], parse.GetValue(episodes),
                parse.GetValue(beta), parse.GetValue(report));
            return 0;
        });
        return command;
    }

    static void Evaluate(string runName, string? modelFile, int[] ks, int episodes, double beta, string? reportPath)
    {
        TorchRuntime.EnsureInitialized();
        var runDirectory = Path.Combine(DataCommands.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? ".", "data", "lm", "runs", runName);
        var folder = Path.Combine(runDirectory, "checkpoints", File.ReadAllText(Path.Combine(runDirectory, "checkpoints", "latest.txt")).Trim());
        var settings = JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(Path.Combine(folder, "state.json"))).GetProperty("Settings");
        var config = settings.GetProperty("Config").Deserialize<CausalLmConfig>()!;
        var task = new InContextTask(settings.GetProperty("Clusters").GetInt32(), settings.GetProperty("PerCluster").GetInt32());
        var mask = settings.GetProperty("Mask").GetString()!;
        var suffix = settings.TryGetProperty("Suffix", out var n) ? n.GetInt32() : 1;
        var weights = modelFile ?? Path.Combine(runDirectory, "model.pt");
        using var model = new CausalLm(config);
        model.load(weights);
        model.eval();

        var rows = new List<(int K, double[] Accuracy)>();
        foreach (var k in ks)
        {
            var random = new Random(1_000_000_007 + k); // held out: training draws from seed·1,000,003 + step
            var correct = new int[Methods.Length];
            for (var e = 0; e < episodes; e++)
            {
                var (chunks, prior) = task.SampleChunked(random, k, config.Window);
                var chunkLogs = chunks.Select(c => LabelLogProbabilities(model, task, c.Tokens, mask, suffix)).ToList();
                var priorLog = LabelLogProbabilities(model, task, prior.Tokens, mask, suffix);
                double[][] combined =
                [
                    ContextCombination.Nbce(chunkLogs, priorLog, beta, NbcePooling.MinEntropy),
                    ContextCombination.Nbce(chunkLogs, priorLog, beta, NbcePooling.Mean),
                    ContextCombination.Truncation(chunkLogs),
                    ContextCombination.ProbabilityAverage(chunkLogs),
                ];
                for (var m = 0; m < Methods.Length; m++)
                {
                    if (task.Inputs + Array.IndexOf(combined[m], combined[m].Max()) == prior.Target)
                        correct[m]++;
                }
            }
            rows.Add((k, [.. correct.Select(c => (double)c / episodes)]));
            Console.WriteLine($"k = {k}: " + string.Join(", ", Methods.Select((m, i) => $"{m} {rows[^1].Accuracy[i]:P1}")));
        }

        var table = Table(rows, task, episodes, beta, config, weights);
        Console.WriteLine(table);
        if (reportPath is not null)
        {
            GeneratedBlock.Write(reportPath, "The remaining seed posts", "<!-- generated by `service-cli lm eval`: begin -->", "<!-- generated (lm eval): end -->",
                "<!-- generated by `service-cli lm eval`: begin -->\n" + table + "\n![accuracy against demonstrations](seed-lm/nbce.png)\n<!-- generated (lm eval): end -->\n");
            Plot(rows, task, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(reportPath))!, "seed-lm", "nbce.png"));
        }
    }

    /// <summary>log p over the C label tokens at the last position (the query), renormalised over them: [C]. A run trained
    /// with the prefix mask reads its demonstrations with that mask too.</summary>
    static double[] LabelLogProbabilities(CausalLm model, InContextTask task, int[] tokens, string mask, int suffix)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var ids = tensor(tokens.Select(t => (long)t).ToArray()).unsqueeze(0);
        var logits = model.forward(ids, LmHeldOut.Mask(mask, tokens.Length, Math.Min(suffix, tokens.Length / 2)))[0, -1]; // [V]
        var labels = logits.narrow(0, task.Inputs, task.Clusters).to_type(ScalarType.Float64);
        return nn.functional.log_softmax(labels, 0).data<double>().ToArray();
    }

    static string Table(List<(int K, double[] Accuracy)> rows, InContextTask task, int episodes, double beta, CausalLmConfig config, string weights)
    {
        var text = new StringBuilder();
        var invariant = CultureInfo.InvariantCulture;
        text.AppendLine(invariant, $"| k demonstrations | chunks of {InContextTask.DemonstrationsPerWindow(config.Window)} | query's cluster shown (1 − (1 − 1/C)^k) | {string.Join(" | ", Methods)} |");
        text.AppendLine($"|---:|---:|---:|{string.Concat(Methods.Select(_ => "---:|"))}");
        foreach (var (k, accuracy) in rows)
        {
            var chunks = Math.Max(1, (int)Math.Ceiling(k / (double)InContextTask.DemonstrationsPerWindow(config.Window)));
            var shown = 1 - Math.Pow(1 - 1.0 / task.Clusters, k);
            text.AppendLine(invariant, $"| {k} | {chunks} | {shown:P1} | {string.Join(" | ", accuracy.Select(a => a.ToString("P1", invariant)))} |");
        }
        text.AppendLine();
        text.AppendLine(invariant, $"{episodes} held-out episodes per k; C = {task.Clusters} labels (chance {1.0 / task.Clusters:P1}); β = {beta}; " +
            $"one binomial standard error is at most {Math.Sqrt(0.25 / episodes):P1}. Weights: {Path.GetFileName(Path.GetDirectoryName(weights))}/{Path.GetFileName(weights)}.");
        return text.ToString();
    }

    static void Plot(List<(int K, double[] Accuracy)> rows, InContextTask task, string path)
    {
        var plot = new Plot();
        for (var m = 0; m < Methods.Length; m++)
        {
            var line = plot.Add.Scatter(rows.Select(r => Math.Log2(r.K)).ToArray(), rows.Select(r => r.Accuracy[m]).ToArray());
            line.LegendText = Methods[m];
            line.MarkerSize = 6;
        }
        var bound = plot.Add.Scatter(rows.Select(r => Math.Log2(r.K)).ToArray(), rows.Select(r => 1 - Math.Pow(1 - 1.0 / task.Clusters, r.K)).ToArray());
        bound.LegendText = "query's cluster among the demonstrations";
        bound.LinePattern = LinePattern.Dashed;
        AccuracyPlot.Save(plot, "log₂ k (demonstrations)", "accuracy", path);
    }
}
