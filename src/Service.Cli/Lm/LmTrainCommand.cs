using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Service.Cli.Text;
using Service.Models.Lm;
using Service.Models.Torch;
using Service.Training.Lm;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Cli.Lm;

/// <summary>Where the loss is taken and which attention mask the model trains with.</summary>
/// <param name="Mask">causal (GPT) or prefix (UniLM: BOS and the demonstrations attend bidirectionally, the query causally).</param>
/// <param name="Loss">labels: every label position (causal only: a bidirectional prefix would see its labels); query: the last <paramref name="Suffix"/> labels.</param>
/// <param name="Suffix">query loss: the last items of each sequence (demonstrations, then the query) that are read causally and scored; the prefix mask covers BOS and the demonstrations before them.</param>
public sealed record LmTrainSettings(
    string Name, int Steps, int Batch, double LearningRate, int Warmup, long Seed, int Clusters, int PerCluster,
    string Mask, string Loss, int CheckpointEvery, bool Resume, double MaxMinutes, int Threads, CausalLmConfig Config, string RunDirectory, int Burst = 0, int EvalEvery = 500, int Suffix = 1);

/// <summary>
/// <c>lm train</c>: trains the small decoder-only transformer (<see cref="CausalLm"/>) on in-context classification
/// (<see cref="InContextTask"/>), resumable from checkpoints. Step k draws its batch from a generator seeded with
/// seed·1,000,003 + k: one demonstration count k_d ~ U[0, what the window holds] for the whole batch, so rows need no padding.
/// </summary>
public static class LmTrainCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "Run name: data/lm/runs/<name>/.", Required = true };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 4000 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 32 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-3 };
        var warmup = new Option<int>("--warmup") { Description = "Linear warm-up steps, then cosine decay to 10 % at --steps.", DefaultValueFactory = _ => 200 };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 1 };
        var clusters = new Option<int>("--clusters") { DefaultValueFactory = _ => 32 };
        var perCluster = new Option<int>("--per-cluster") { DefaultValueFactory = _ => 2 };
        var window = new Option<int>("--window") { DefaultValueFactory = _ => 128 };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => 4 };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => 4 };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 192 };
        var rotary = new Option<bool>("--rotary") { Description = "Rotary positions instead of learned position embeddings." };
        var burst = new Option<int>("--burst") { Description = "Clusters each training sequence draws its inputs from (0: all), so inputs recur within a sequence." };
        var mask = new Option<string>("--mask") { Description = "causal | prefix", DefaultValueFactory = _ => "causal" };
        mask.AcceptOnlyFromAmong("causal", "prefix");
        var loss = new Option<string>("--loss") { Description = "labels | query", DefaultValueFactory = _ => "labels" };
        loss.AcceptOnlyFromAmong("labels", "query");
        var checkpointEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 100 };
        var resume = new Option<bool>("--resume");
        var maxMinutes = new Option<double>("--max-minutes") { Description = "Stop (with a checkpoint) after this many minutes; 0 = no limit." };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var suffix = new Option<int>("--suffix") { Description = "--loss query: score the last N items (N − 1 demonstrations and the query), read causally after the prefix.", DefaultValueFactory = _ => 1 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Steps between held-out measurements (curve.csv).", DefaultValueFactory = _ => 500 };
        var command = new Command("train", "Train the small causal LM on in-context classification (issue 18).")
        {
            name, steps, batch, lr, warmup, seed, clusters, perCluster, window, layers, heads, width, rotary, burst, mask, loss, checkpointEvery, resume, maxMinutes, threads, evalEvery, suffix,
        };
        command.SetAction(parse =>
        {
            var task = new InContextTask(parse.GetValue(clusters), parse.GetValue(perCluster));
            var settings = new LmTrainSettings(
                parse.GetValue(name)!, parse.GetValue(steps), parse.GetValue(batch), parse.GetValue(lr), parse.GetValue(warmup), parse.GetValue(seed),
                parse.GetValue(clusters), parse.GetValue(perCluster), parse.GetValue(mask)!, parse.GetValue(loss)!, parse.GetValue(checkpointEvery),
                parse.GetValue(resume), parse.GetValue(maxMinutes), parse.GetValue(threads),
                new CausalLmConfig(task.Vocabulary, parse.GetValue(window), parse.GetValue(layers), parse.GetValue(heads), parse.GetValue(width), Rotary: parse.GetValue(rotary)),
                Path.Combine(DataCommands.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? ".", "data", "lm", "runs", parse.GetValue(name)!),
                parse.GetValue(burst), parse.GetValue(evalEvery), parse.GetValue(suffix));
            if (settings.Mask == "prefix" && settings.Loss == "labels")
                throw new ArgumentException("--mask prefix needs --loss query: a bidirectional prefix sees the labels inside it.");
            if (settings.Suffix < 1 || settings.Suffix > InContextTask.DemonstrationsPerWindow(settings.Config.Window) + 1 || (settings.Suffix > 1 && settings.Loss != "query"))
                throw new ArgumentException("--suffix is between 1 and the demonstrations a window holds plus one, and goes with --loss query.");
            Train(settings, task);
            return 0;
        });
        return command;
    }

    static void Train(LmTrainSettings settings, InContextTask task)
    {
        TorchRuntime.EnsureInitialized();
        set_num_threads(settings.Threads);
        manual_seed(settings.Seed);
        using var model = new CausalLm(settings.Config);
        model.train();
        using var adam = optim.AdamW(model.parameters(), settings.LearningRate, weight_decay: 0.01);
        var checkpoints = Path.Combine(settings.RunDirectory, "checkpoints");
        Directory.CreateDirectory(checkpoints);
        var step = 0;
        var priorSeconds = 0.0;
        var latest = Path.Combine(checkpoints, "latest.txt");
        if (settings.Resume && File.Exists(latest))
        {
            var folder = Path.Combine(checkpoints, File.ReadAllText(latest).Trim());
            var state = JsonSerializer.Deserialize<LmCheckpoint>(File.ReadAllText(Path.Combine(folder, "state.json")))!;
            if (state.Settings != settings with { Resume = state.Settings.Resume, MaxMinutes = state.Settings.MaxMinutes, Threads = state.Settings.Threads })
                throw new InvalidOperationException($"Checkpoint {folder} belongs to a run with other settings.");
            model.load(Path.Combine(folder, "model.pt"));
            adam.load_state_dict(Path.Combine(folder, "optimizer.pt"));
            (step, priorSeconds) = (state.Step, state.WallSeconds);
        }

        var curve = Path.Combine(settings.RunDirectory, LmHeldOut.FileName);
        LmHeldOut.Truncate(curve, step);
        void Measure(double trainLoss)
        {
            model.eval();
            var row = LmHeldOut.Row(step, LmHeldOut.Measure(model, task, settings.Mask, settings.Config.Window, settings.Suffix), trainLoss);
            model.train();
            if (!File.Exists(curve))
                File.WriteAllText(curve, LmHeldOut.Header + "\n");
            File.AppendAllText(curve, row + "\n");
        }
        if (step == 0)
            Measure(double.NaN);

        var clock = Stopwatch.StartNew();
        var window = new Queue<double>();
        var maxDemonstrations = InContextTask.DemonstrationsPerWindow(settings.Config.Window);
        void Checkpoint()
        {
            var folder = Path.Combine(checkpoints, $"step-{step:D6}");
            Directory.CreateDirectory(folder);
            model.save(Path.Combine(folder, "model.pt"));
            adam.save_state_dict(Path.Combine(folder, "optimizer.pt"));
            File.WriteAllText(Path.Combine(folder, "state.json"), JsonSerializer.Serialize(
                new LmCheckpoint(step, priorSeconds + clock.Elapsed.TotalSeconds, settings, window.Count > 0 ? window.Average() : null)));
            File.WriteAllText(latest, Path.GetFileName(folder));
            foreach (var old in Directory.GetDirectories(checkpoints, "step-*").Where(d => d != folder))
                Directory.Delete(old, true);
        }

        while (step < settings.Steps)
        {
            if (settings.MaxMinutes > 0 && clock.Elapsed.TotalMinutes >= settings.MaxMinutes)
                break;
            var random = new Random(unchecked((int)(settings.Seed * 1_000_003 + step)));
            var demonstrations = LmHeldOut.Demonstrations(random, maxDemonstrations, settings.Suffix);
            var sequences = Enumerable.Range(0, settings.Batch).Select(_ => task.Sample(random, demonstrations, settings.Burst)).ToArray();
            foreach (var group in adam.ParamGroups)
                group.LearningRate = LearningRate(settings, step);
            using (var scope = NewDisposeScope())
            {
                var length = sequences[0].Tokens.Length;
                var ids = tensor(sequences.SelectMany(s => s.Tokens.Select(t => (long)t)).ToArray(), [settings.Batch, length]);
                var mask = LmHeldOut.Mask(settings.Mask, length, settings.Suffix);
                var logits = model.forward(ids, mask); // [B, T, V]
                var rows = new List<long>();
                var positions = new List<long>();
                var targets = new List<long>();
                for (var b = 0; b < sequences.Length; b++)
                {
                    var chosen = settings.Loss == "labels" ? sequences[b].LabelPositions.Length : settings.Suffix;
                    for (var i = sequences[b].LabelPositions.Length - chosen; i < sequences[b].LabelPositions.Length; i++)
                    {
                        rows.Add(b);
                        positions.Add(sequences[b].LabelPositions[i]);
                        targets.Add(sequences[b].Labels[i]);
                    }
                }
                var picked = logits[tensor(rows.ToArray()), tensor(positions.ToArray())]; // [N, V]
                var loss = nn.functional.cross_entropy(picked, tensor(targets.ToArray()));
                adam.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                adam.step();
                window.Enqueue(loss.item<float>());
                if (window.Count > 50)
                    window.Dequeue();
            }
            step++;
            if (step % settings.EvalEvery == 0)
                Measure(window.Average());
            if (step % 50 == 0)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step} loss(50) {window.Average():0.0000} {step / Math.Max(1e-9, priorSeconds + clock.Elapsed.TotalSeconds):0.00} steps/s"));
            if (step % settings.CheckpointEvery == 0 || step == settings.Steps)
                Checkpoint();
        }
        if (step % settings.CheckpointEvery != 0 && step != settings.Steps)
            Checkpoint();
        if (step == settings.Steps)
            model.save(Path.Combine(settings.RunDirectory, "model.pt"));
        Console.WriteLine($"{settings.Name}: {step}/{settings.Steps} steps, {(priorSeconds + clock.Elapsed.TotalSeconds) / 60:F1} min");
    }

    /// <summary>Linear warm-up to the peak, then cosine decay to 10 % of it at the last step.</summary>
    static double LearningRate(LmTrainSettings settings, int step)
    {
        if (step < settings.Warmup)
            return settings.LearningRate * (step + 1) / settings.Warmup;
        var progress = (double)(step - settings.Warmup) / Math.Max(1, settings.Steps - settings.Warmup);
        return settings.LearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

}

/// <summary>A checkpoint's state.json: the step reached, the time spent, the run's settings and the loss over the last 50 steps.</summary>
public sealed record LmCheckpoint(int Step, double WallSeconds, LmTrainSettings Settings, double? RecentLoss = null)
{
    /// <summary>The newest checkpoint of a run: its folder and state.</summary>
    public static (string Folder, LmCheckpoint State) Latest(string runDirectory)
    {
        var checkpoints = Path.Combine(runDirectory, "checkpoints");
        var folder = Path.Combine(checkpoints, File.ReadAllText(Path.Combine(checkpoints, "latest.txt")).Trim());
        return (folder, JsonSerializer.Deserialize<LmCheckpoint>(File.ReadAllText(Path.Combine(folder, "state.json")))!);
    }
}
