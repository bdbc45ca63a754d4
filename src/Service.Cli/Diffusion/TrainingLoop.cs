using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Service.Models.Diffusion.Unet;
using Spectre.Console;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Service.Training.Diffusion;
using Service.Training.Schedules;

namespace Service.Cli.Diffusion;

/// <summary>Common options of <c>diffusion train</c> and <c>diffusion train-head</c>.</summary>
sealed record TrainingSettings(
    long Steps, int BatchSize, double LearningRate, double EmaDecay, long Seed,
    string CheckpointDirectory, int CheckpointEvery, bool Resume, string Output, int Threads, int LogEvery, double MaxMinutes,
    string LrSchedule, long WarmupSteps);

/// <summary>What a checkpoint's state.json records besides the weight files.</summary>
sealed record CheckpointState(long Step, long Seed, double WallSeconds, string Description);

/// <summary>
/// The step loop shared by backbone and head training: a fixed-seed batch draw, the loss, Adam with gradient-norm
/// clipping at 1 and a learning-rate schedule, an EMA of the trained parameters, a Spectre progress bar (plain log lines when output is
/// redirected), checkpoints every M steps and resume from the latest.
/// </summary>
/// <remarks>
/// Determinism: the model is initialised after <c>torch.manual_seed(seed)</c>; step k re-seeds one generator with
/// seed·1,000,003 + k before drawing the batch indices, n and ε, so the random stream depends only on (seed, k) and a
/// resumed run draws exactly what the uninterrupted run would have ("RNG position" = the step). EMA decay warms up as
/// min(decay, (1 + k)/(10 + k)).
/// </remarks>
sealed class TrainingLoop(
    TrainingSettings settings,
    string description,
    nn.Module trained,
    nn.Module ema,
    Tensor trainImages,
    Func<Tensor, Generator, Tensor> loss)
{
    const string LatestFile = "latest.txt";

    public double FinalLoss { get; private set; }
    public double WallSeconds { get; private set; }
    public double StepsPerSecond { get; private set; }
    public int SkippedSteps { get; private set; }

    /// <summary>Steps actually trained: <see cref="TrainingSettings.Steps"/>, or fewer when --max-minutes stopped the run.</summary>
    public long StepsDone { get; private set; }

    public List<(long Step, double Loss)> Losses { get; } = [];

    public void Run()
    {
        var parameters = trained.parameters().Where(p => p.requires_grad).ToList();
        var emaParameters = ema.parameters().ToList();
        var trainedAll = trained.parameters().ToList();
        if (trainedAll.Count != emaParameters.Count)
            throw new InvalidOperationException("EMA and trained modules differ in shape.");
        using var optimizer = optim.Adam(parameters, settings.LearningRate);
        var schedule = LearningRateSchedules.Create(settings.LrSchedule, settings.LearningRate, settings.WarmupSteps, settings.Steps);
        var startStep = 0L;
        var priorSeconds = 0.0;
        Directory.CreateDirectory(settings.CheckpointDirectory);
        if (settings.Resume && TryLatest(settings.CheckpointDirectory) is { } latest)
        {
            var state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(Path.Combine(latest, "state.json")))!;
            if (state.Seed != settings.Seed)
                throw new InvalidOperationException($"Checkpoint {latest} was trained with seed {state.Seed}, not {settings.Seed}.");
            trained.load(Path.Combine(latest, "model.pt"));
            ema.load(Path.Combine(latest, "ema.pt"));
            optimizer.load_state_dict(Path.Combine(latest, "optimizer.pt"));
            startStep = state.Step;
            priorSeconds = state.WallSeconds;
            Losses.AddRange(ReadLosses(Path.Combine(latest, "loss.csv")).Where(l => l.Step <= startStep));
            Console.WriteLine($"Resumed {description} from {latest} at step {startStep}.");
        }
        else if (settings.Resume)
        {
            Console.WriteLine($"No checkpoint in {settings.CheckpointDirectory}; starting {description} from step 0.");
        }

        using var generator = new Generator((ulong)settings.Seed);
        var count = trainImages.shape[0];
        var clock = Stopwatch.StartNew();
        var windowClock = Stopwatch.StartNew();
        var windowStart = startStep;
        var rate = 0.0;

        void Step(long step)
        {
            using var scope = NewDisposeScope();
            generator.manual_seed(settings.Seed * 1_000_003 + step);
            var indices = randint(0, count, [settings.BatchSize], dtype: ScalarType.Int64, generator: generator);
            var batch = trainImages.index_select(0, indices);
            var value = loss(batch, generator);
            foreach (var group in optimizer.ParamGroups)
                group.LearningRate = schedule.At(step);
            optimizer.zero_grad();
            value.backward();
            var norm = nn.utils.clip_grad_norm_(parameters, 1.0);
            if (!double.IsFinite(norm))
            {
                // A non-finite gradient (see BackwardWarmUp) must not reach the weights: skip the update.
                SkippedSteps++;
                optimizer.zero_grad();
                Losses.Add((step + 1, value.item<float>()));
                Console.WriteLine($"step {step + 1}: gradient norm {norm}; update skipped");
                return;
            }
            optimizer.step();
            var decay = Math.Min(settings.EmaDecay, (1.0 + step) / (10.0 + step));
            using (no_grad())
            {
                for (var i = 0; i < emaParameters.Count; i++)
                    emaParameters[i].mul_(decay).add_(trainedAll[i], alpha: 1 - decay);
            }
            Losses.Add((step + 1, value.item<float>()));
        }

        void Checkpoint(long step)
        {
            var dir = Path.Combine(settings.CheckpointDirectory, $"step-{step:D7}");
            var temp = dir + ".tmp";
            if (Directory.Exists(temp))
                Directory.Delete(temp, true);
            Directory.CreateDirectory(temp);
            trained.save(Path.Combine(temp, "model.pt"));
            ema.save(Path.Combine(temp, "ema.pt"));
            optimizer.save_state_dict(Path.Combine(temp, "optimizer.pt"));
            WriteLosses(Path.Combine(temp, "loss.csv"), Losses);
            File.WriteAllText(Path.Combine(temp, "state.json"), JsonSerializer.Serialize(
                new CheckpointState(step, settings.Seed, priorSeconds + clock.Elapsed.TotalSeconds, description)));
            if (Directory.Exists(dir))
                Directory.Delete(dir, true);
            Directory.Move(temp, dir);
            var latestTemp = Path.Combine(settings.CheckpointDirectory, LatestFile + ".tmp");
            File.WriteAllText(latestTemp, Path.GetFileName(dir));
            File.Move(latestTemp, Path.Combine(settings.CheckpointDirectory, LatestFile), overwrite: true);
            foreach (var old in Directory.GetDirectories(settings.CheckpointDirectory, "step-*").Where(d => !d.EndsWith(".tmp")).Order().SkipLast(2))
                Directory.Delete(old, true);
        }

        string Status(long step)
        {
            var recent = Losses.Skip(Math.Max(0, Losses.Count - 50)).Select(l => l.Loss).DefaultIfEmpty(double.NaN).Average();
            return string.Create(CultureInfo.InvariantCulture, $"{description}: step {step}/{settings.Steps} loss {recent:F4} {rate:F2} it/s");
        }

        void Loop(Action<long> progress)
        {
            StepsDone = startStep;
            for (var step = startStep; step < settings.Steps; step++)
            {
                Step(step);
                var done = step + 1;
                if (windowClock.Elapsed.TotalSeconds >= 5)
                {
                    rate = (done - windowStart) / windowClock.Elapsed.TotalSeconds;
                    windowStart = done;
                    windowClock.Restart();
                }
                var outOfTime = settings.MaxMinutes > 0 && clock.Elapsed.TotalMinutes >= settings.MaxMinutes;
                if (done % settings.CheckpointEvery == 0 || done == settings.Steps || outOfTime)
                    Checkpoint(done);
                progress(done);
                StepsDone = done;
                if (outOfTime)
                {
                    Console.WriteLine($"Stopping at step {done}: --max-minutes {settings.MaxMinutes} reached.");
                    break;
                }
            }
        }

        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            Loop(done =>
            {
                if (done % settings.LogEvery == 0 || done == settings.Steps)
                    Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {Status(done)}");
            });
        }
        else
        {
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask(Markup.Escape(Status(startStep)), maxValue: settings.Steps);
                    task.Value = startStep;
                    Loop(done =>
                    {
                        task.Value = done;
                        task.Description = Markup.Escape(Status(done));
                    });
                });
        }

        WallSeconds = priorSeconds + clock.Elapsed.TotalSeconds;
        var ran = StepsDone - startStep;
        StepsPerSecond = ran > 0 ? ran / clock.Elapsed.TotalSeconds : 0;
        FinalLoss = Losses.Skip(Math.Max(0, Losses.Count - 100)).Select(l => l.Loss).DefaultIfEmpty(double.NaN).Average();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{description}: {StepsDone} steps, final loss (mean of last 100) {FinalLoss:F5}, {WallSeconds:F0} s total, {StepsPerSecond:F2} it/s this run, {SkippedSteps} updates skipped (non-finite gradient)"));
    }

    static string? TryLatest(string directory)
    {
        var latest = Path.Combine(directory, LatestFile);
        if (!File.Exists(latest))
            return null;
        var dir = Path.Combine(directory, File.ReadAllText(latest).Trim());
        return Directory.Exists(dir) ? dir : null;
    }

    public static void WriteLosses(string path, IReadOnlyList<(long Step, double Loss)> losses)
    {
        var text = new StringBuilder("step,loss,loss_mean100\n");
        var sum = 0.0;
        for (var i = 0; i < losses.Count; i++)
        {
            sum += losses[i].Loss;
            if (i >= 100)
                sum -= losses[i - 100].Loss;
            text.Append(CultureInfo.InvariantCulture, $"{losses[i].Step},{losses[i].Loss:G6},{sum / Math.Min(i + 1, 100):G6}\n");
        }
        File.WriteAllText(path, text.ToString());
    }

    static IEnumerable<(long Step, double Loss)> ReadLosses(string path) =>
        File.ReadLines(path).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))
            .Select(p => (long.Parse(p[0], CultureInfo.InvariantCulture), double.Parse(p[1], CultureInfo.InvariantCulture)));

    /// <summary>Loads the 9,000 training images as one [9000, 1, 28, 28] tensor.</summary>
    public static Tensor LoadTrainImages(string? dataDirectory)
    {
        var data = MnistDataset.LoadPackage(dataDirectory ?? MnistDataset.DefaultPackageDirectory()).Train();
        // Copy into torch-owned memory while the managed array is certainly alive.
        using var view = tensor(data.Images, [data.Count, 1, MnistDataset.Side, MnistDataset.Side]);
        var images = view.clone();
        GC.KeepAlive(data);
        if (!images.isfinite().all().item<bool>())
            throw new InvalidDataException("MNIST images contain non-finite values.");
        return images;
    }
}
