using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Service.Models.ModelFiles;
using Service.Models.Text;
using Service.Models.Text.Adapters;
using Service.Models.Text.Torch;
using Service.Models.Torch;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;
using Service.Training;
using Service.Training.Text;
using Service.Training.Schedules;

namespace Service.Cli.Text.Training;

/// <summary>What a run trains: the scoring model and its loss.</summary>
public enum TextObjective
{
    /// <summary>Bi-encoder, CoSENT on cosine scores (λ = 20), over every pair of the batch.</summary>
    BiCoSent,
    /// <summary>Bi-encoder, in-batch-negatives softmax on query → gold item (scale 20).</summary>
    BiSoftmax,
    /// <summary>Cross-encoder, CoSENT on the raw head output (λ = 1).</summary>
    CeCoSent,
    /// <summary>Cross-encoder, binary cross-entropy on the raw head output.</summary>
    CeBce,
    /// <summary>
    /// Cross-encoder, softmax cross-entropy of the gold item over each query's own candidate list. With one positive per
    /// list this is CoSENT (λ = 1) restricted to the pairs inside a list: log(1 + Σ_neg exp(s_neg − s_gold)).
    /// </summary>
    CeSoftmax,
}

/// <summary>Where a step's candidates come from.</summary>
public enum CandidateSource
{
    /// <summary>Queries with ≥ 1 hard negative, each with its gold item and other senses of the lemma (the 500-step runs).</summary>
    Senses,
    /// <summary>Every training query, with hard, mined and random negatives (<see cref="CandidateSampler"/>).</summary>
    Mixed,
}

/// <summary>Everything a run needs; recorded in run.json and the adapter's metadata.</summary>
public sealed record TextTrainSettings(
    string Name, TextObjective Objective, Adaptation Adaptation, int Steps, int Queries, int Negatives, double LearningRate,
    int Rank, double Alpha, long Seed, int MaxTokens, int CheckpointEvery, bool Resume, int Threads, double MaxMinutes,
    string DataDirectory, string RunDirectory, string? AdapterOut,
    CandidateSource Candidates, NegativeMix Mix, int MinedDepth, int WarmupSteps, int MicroBatch, string? InitFrom,
    double TeacherWeight = 0, int TeacherOnlySteps = 0, double TeacherScale = 20, double FusionWeight = 0, string? InitAdapter = null, bool GlossQueries = false)
{
    public bool IsCrossEncoder => Objective is TextObjective.CeCoSent or TextObjective.CeBce or TextObjective.CeSoftmax;

    public bool UsesBaseBiEncoder => TeacherWeight > 0 || TeacherOnlySteps > 0 || FusionWeight != 0;
}

/// <summary>What run.json records when a run ends (and what <c>text eval</c> reads).</summary>
public sealed record TextRunInfo(
    string Name, string Objective, string Adaptation, string Kind, long Steps, double WallSeconds, double PairsPerSecond,
    double FinalLoss, double LearningRate, int Rank, double Alpha, long Seed, int Queries, int Negatives, string ModelPath, string? AdapterPath, int SkippedSteps,
    double FusionWeight = 0);

/// <summary>
/// <c>text train</c>: fine-tunes MiniLM on the WordNet training domains as a bi-encoder or a cross-encoder, with LoRA,
/// LoRA-as-optimizer or full fine-tuning; progress bar, loss log, checkpoints with resume, fixed seeds.
/// </summary>
/// <remarks>
/// Step k draws its queries and negatives from a generator seeded with seed·1,000,003 + k, so a resumed run draws what
/// the uninterrupted run would have. A step takes <c>--queries</c> training queries that have hard negatives, each
/// with its gold item and up to <c>--negatives</c> of its other senses.
/// </remarks>
public static class TextTrainCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "Run name: data/text/runs/<name>/.", Required = true };
        var objective = new Option<string>("--objective") { Description = "bi-cosent | bi-softmax | ce-cosent | ce-bce | ce-softmax", Required = true };
        objective.AcceptOnlyFromAmong("bi-cosent", "bi-softmax", "ce-cosent", "ce-bce", "ce-softmax");
        var adaptation = new Option<string>("--adaptation") { Description = "lora | lora-opt | full | linears", DefaultValueFactory = _ => "lora" };
        adaptation.AcceptOnlyFromAmong("lora", "lora-opt", "full", "linears");
        var candidates = new Option<string>("--candidates") { Description = "senses (hard negatives only) | mixed (cross-encoders: hard, mined and random)", DefaultValueFactory = _ => "senses" };
        candidates.AcceptOnlyFromAmong("senses", "mixed");
        var mined = new Option<int>("--mined") { Description = "mixed: negatives from the base bi-encoder's top --mined-depth of the query's domain.", DefaultValueFactory = _ => 3 };
        var minedDepth = new Option<int>("--mined-depth") { DefaultValueFactory = _ => 30 };
        var randomNegatives = new Option<int>("--random") { Description = "mixed: random negatives from the query's domain.", DefaultValueFactory = _ => 1 };
        var unmark = new Option<double>("--unmark") { Description = "mixed: probability that a query is shown without its « » marks.", DefaultValueFactory = _ => 0.5 };
        var warmup = new Option<int>("--warmup") { Description = "Steps of linear learning-rate warm-up, then linear decay to 0 at --steps; 0 = constant rate.", DefaultValueFactory = _ => 0 };
        var teacher = new Option<double>("--teacher-weight") { Description = "ce-softmax: weight α of the base bi-encoder's soft ranking of each list in the target, (1 − α)·gold + α·softmax(scale·cos).", DefaultValueFactory = _ => 0 };
        var teacherOnly = new Option<int>("--teacher-only-steps") { Description = "ce-softmax: the first steps learn the teacher's ranking alone (α = 1), a warm start for the head." };
        var teacherScale = new Option<double>("--teacher-scale") { Description = "Inverse temperature of the teacher's softmax over cosines.", DefaultValueFactory = _ => 20 };
        var initFrom = new Option<string?>("--init-from") { Description = "Start from the final weights (encoder and head) of this finished run: a second phase with its own negatives and schedule." };
        var initAdapter = new Option<string?>("--init-adapter") { Description = "Start from a dense cross-encoder adapter (text export): its Linear weights and head." };
        var fusion = new Option<double>("--fusion-weight") { Description = "ce-softmax: train the residual score f(q, d) + w · cos(q, d) over the frozen base bi-encoder's cosine; 0 = the cross-encoder alone." };
        var gloss = new Option<bool>("--gloss-queries") { Description = "mixed: also draw the training queries made from definitions (hypernym lemma marked in a hyponym's definition; docs/data/wordnet.md)." };
        var micro = new Option<int>("--micro-batch") { Description = "Cross-encoders: pairs per forward pass, sorted by length so little is padding.", DefaultValueFactory = _ => 16 };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 300 };
        var queries = new Option<int>("--queries") { Description = "Training queries per step.", DefaultValueFactory = _ => 8 };
        var negatives = new Option<int>("--negatives") { Description = "Hard negatives per query (at most).", DefaultValueFactory = _ => 3 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 2e-4 };
        var rank = new Option<int>("--rank") { Description = "LoRA rank r (also the projection rank of lora-opt).", DefaultValueFactory = _ => 8 };
        var alpha = new Option<double>("--alpha") { DefaultValueFactory = _ => 16 };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 1 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens per text (pairs: twice this).", DefaultValueFactory = _ => 64 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 50 };
        var resume = new Option<bool>("--resume") { Description = "Continue from the latest checkpoint of the run." };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var maxMinutes = new Option<double>("--max-minutes") { Description = "Stop (checkpoint + outputs) after this many minutes; 0 = no limit." };
        var data = new Option<string?>("--data") { Description = "data/wordnet (from `data wordnet-benchmark`)." };
        var adapterOut = new Option<string?>("--adapter-out") { Description = "LoRA runs: write the adapter (+ head) here, e.g. models/text/<name>/adapter.safetensors." };
        var command = new Command("train", "Fine-tune MiniLM on WordNet (bi-/cross-encoder; CoSENT, softmax or BCE; LoRA, LoRA-as-optimizer or full).")
        {
            name, objective, adaptation, steps, queries, negatives, lr, rank, alpha, seed, maxTokens, checkpointEvery, resume, threads, maxMinutes, data, adapterOut,
            candidates, mined, minedDepth, randomNegatives, unmark, warmup, micro, initFrom, teacher, teacherOnly, teacherScale, initAdapter, fusion, gloss,
        };
        command.SetAction(parse =>
        {
            var runName = parse.GetValue(name)!;
            var settings = new TextTrainSettings(
                runName,
                parse.GetValue(objective) switch
                {
                    "bi-cosent" => TextObjective.BiCoSent, "bi-softmax" => TextObjective.BiSoftmax, "ce-cosent" => TextObjective.CeCoSent,
                    "ce-softmax" => TextObjective.CeSoftmax, _ => TextObjective.CeBce,
                },
                parse.GetValue(adaptation) switch { "lora" => Adaptation.Lora, "lora-opt" => Adaptation.LoraOptimizer, "linears" => Adaptation.Linears, _ => Adaptation.Full },
                parse.GetValue(steps), parse.GetValue(queries), parse.GetValue(negatives), parse.GetValue(lr), parse.GetValue(rank), parse.GetValue(alpha),
                parse.GetValue(seed), parse.GetValue(maxTokens), parse.GetValue(checkpointEvery), parse.GetValue(resume), parse.GetValue(threads),
                parse.GetValue(maxMinutes), parse.GetValue(data) ?? TextData.DefaultDirectory(),
                Path.Combine(DataCommands.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? ".", "data", "text", "runs", runName),
                parse.GetValue(adapterOut),
                parse.GetValue(candidates) == "mixed" ? CandidateSource.Mixed : CandidateSource.Senses,
                new NegativeMix(parse.GetValue(negatives), parse.GetValue(mined), parse.GetValue(randomNegatives), parse.GetValue(unmark)),
                parse.GetValue(minedDepth), parse.GetValue(warmup), parse.GetValue(micro), parse.GetValue(initFrom),
                parse.GetValue(teacher), parse.GetValue(teacherOnly), parse.GetValue(teacherScale), parse.GetValue(fusion), parse.GetValue(initAdapter), parse.GetValue(gloss));
            if (settings.Candidates == CandidateSource.Mixed && !settings.IsCrossEncoder)
                throw new ArgumentException("--candidates mixed trains cross-encoders (ce-*).");
            if (settings.UsesBaseBiEncoder && (settings.Objective != TextObjective.CeSoftmax || settings.Candidates != CandidateSource.Mixed))
                throw new ArgumentException("--teacher-weight, --teacher-only-steps and --fusion-weight need --objective ce-softmax --candidates mixed.");
            if (settings.GlossQueries && settings.Candidates != CandidateSource.Mixed)
                throw new ArgumentException("--gloss-queries needs --candidates mixed.");
            if (settings.InitFrom is not null && settings.InitAdapter is not null)
                throw new ArgumentException("--init-from and --init-adapter both set a start; give one.");
            new TextTrainer(settings).Run();
            return 0;
        });
        return command;
    }
}

/// <summary>The step loop of <see cref="TextTrainCommand"/>.</summary>
sealed class TextTrainer(TextTrainSettings settings)
{
    const string LatestFile = "latest.txt";

    public void Run()
    {
        TorchRuntime.EnsureInitialized();
        set_num_threads(settings.Threads);
        var (modelPath, vocabPath) = MiniLmPackage.Extract(ModelCache.DefaultDirectory);
        var tokenizer = TextTokenizer.FromVocabulary(vocabPath, settings.MaxTokens);
        var groups = settings.Candidates == CandidateSource.Senses
            ? TextData.LoadGroups(settings.DataDirectory, "train").Where(g => g.Candidates.Count >= 2).ToList()
            : [];
        var tokens = new Dictionary<string, int[]>(StringComparer.Ordinal);
        int[] Tokens(string text) => tokens.TryGetValue(text, out var ids) ? ids : tokens[text] = TextData.Tokenize(tokenizer, text);

        CandidateSampler? sampler = null;
        BaseBiEncoder? baseBiEncoder = null;
        if (settings.Candidates == CandidateSource.Mixed)
        {
            var queries = TextData.LoadQueries(settings.DataDirectory, "train");
            if (settings.GlossQueries)
                queries.AddRange(TextData.LoadGlossQueries(settings.DataDirectory, "train"));
            var items = TextData.LoadItems(settings.DataDirectory, "train");
            var mined = MinedNegatives.LoadOrMine(
                Path.Combine(settings.RunDirectory, "..", "..", "mined"), settings.GlossQueries ? "train+gloss" : "train", settings.MinedDepth, queries, items, () =>
                {
                    var baseModel = new TextModel(BertEncoder.FromOnnx(modelPath));
                    baseModel.eval();
                    return new TextScorer(baseModel, tokenizer);
                });
            sampler = new CandidateSampler(queries, items, mined, settings.Mix);
            if (settings.UsesBaseBiEncoder)
            {
                var frozen = new TextModel(BertEncoder.FromOnnx(modelPath));
                frozen.eval();
                baseBiEncoder = new BaseBiEncoder(new TextScorer(frozen, tokenizer));
            }
        }

        manual_seed(settings.Seed);
        using var model = new TextModel(BertEncoder.FromOnnx(modelPath));
        var lora = new LoraOptions { Rank = settings.Rank, Alpha = settings.Alpha, Seed = settings.Seed };
        var (trained, adapters) = model.Prepare(settings.Adaptation, lora);
        if (settings.InitFrom is { } initRun)
        {
            var initModel = Path.Combine(settings.RunDirectory, "..", initRun, "model.pt");
            if (!File.Exists(initModel))
                throw new FileNotFoundException($"--init-from {initRun}: the run has no final model (train it first).", initModel);
            model.load(initModel); // a resumed checkpoint below replaces these weights
        }
        if (settings.InitAdapter is { } adapterFile)
            model.LoadDense(TextAdapter.Load(adapterFile));
        model.train();

        Directory.CreateDirectory(settings.RunDirectory);
        var checkpoints = Path.Combine(settings.RunDirectory, "checkpoints");
        var startStep = 0;
        var priorSeconds = 0.0;
        var priorPairs = 0L;
        var losses = new List<(int Step, double Loss)>();
        var latest = Path.Combine(checkpoints, LatestFile);
        var resuming = settings.Resume && File.Exists(latest);
        CheckpointState? state = null;
        if (resuming)
        {
            var folder = Path.Combine(checkpoints, File.ReadAllText(latest).Trim());
            state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(Path.Combine(folder, "state.json")))!;
            if (state.Seed != settings.Seed || state.Objective != settings.Objective.ToString() || state.Adaptation != settings.Adaptation.ToString())
                throw new InvalidOperationException($"Checkpoint {folder} belongs to a different run (seed/objective/adaptation differ).");
            model.load(Path.Combine(folder, "model.pt"));
            (startStep, priorSeconds, priorPairs) = (state.Step, state.WallSeconds, state.Pairs);
            losses.AddRange(state.Losses.Select(l => (l[0] is var s ? (int)s : 0, l[1])));
        }

        // lora-opt keeps no state across steps (Adam moments restart with every resample, κ = 1): resuming needs only
        // the weights and a projection stream that depends on the step.
        using var adam = settings.Adaptation == Adaptation.LoraOptimizer ? null : optim.Adam(trained, settings.LearningRate);
        var schedule = new WarmupLinearDecay(settings.LearningRate, settings.WarmupSteps, settings.Steps);
        using var projected = settings.Adaptation == Adaptation.LoraOptimizer
            ? new LowRankProjectedOptimizer(trained, new LowRankProjectedOptions
            {
                Rank = settings.Rank, ResampleEvery = 1, LearningRate = settings.LearningRate, State = ProjectedState.Adam,
                Seed = settings.Seed * 1_000_003 + startStep,
            })
            : null;
        if (resuming && adam is not null)
            adam.load_state_dict(Path.Combine(checkpoints, File.ReadAllText(latest).Trim(), "optimizer.pt"));

        var cosineLoss = CoSentLoss.ForCosine();
        var rawLoss = CoSentLoss.ForCrossEncoder();
        var softmaxLoss = new InBatchSoftmaxLoss();
        var clock = Stopwatch.StartNew();
        var pairs = priorPairs;
        var skipped = 0;
        var step = startStep;
        var window = new Queue<double>();

        void Checkpoint()
        {
            var folderName = $"step-{step:D6}";
            var temp = Path.Combine(checkpoints, folderName + ".tmp");
            Directory.CreateDirectory(temp);
            model.save(Path.Combine(temp, "model.pt"));
            adam?.save_state_dict(Path.Combine(temp, "optimizer.pt"));
            File.WriteAllText(Path.Combine(temp, "state.json"), JsonSerializer.Serialize(new CheckpointState(
                step, settings.Seed, settings.Objective.ToString(), settings.Adaptation.ToString(), priorSeconds + clock.Elapsed.TotalSeconds, pairs,
                losses.Select(l => new[] { l.Step, l.Loss }).ToList())));
            var final = Path.Combine(checkpoints, folderName);
            if (Directory.Exists(final))
                Directory.Delete(final, true);
            Directory.Move(temp, final);
            File.WriteAllText(latest, folderName);
            foreach (var old in Directory.GetDirectories(checkpoints, "step-*").Where(d => Path.GetFileName(d) != folderName))
                Directory.Delete(old, true); // one full-model checkpoint is ~90 MB; keep only the newest
        }

        AnsiConsole.Progress().Start(progress =>
        {
            var task = progress.AddTask(settings.Name, maxValue: settings.Steps);
            task.Value = startStep;
            while (step < settings.Steps)
            {
                if (settings.MaxMinutes > 0 && clock.Elapsed.TotalMinutes >= settings.MaxMinutes)
                    break;
                var random = new Random(unchecked((int)(settings.Seed * 1_000_003 + step)));
                using var scope = NewDisposeScope();
                var (loss, pairCount) = sampler is null
                    ? Loss(model, Enumerable.Range(0, settings.Queries).Select(_ => groups[random.Next(groups.Count)]).ToList(), random, Tokens, cosineLoss, rawLoss, softmaxLoss)
                    : ListLoss(model, sampler.Draw(settings.Queries, random), Tokens, rawLoss, baseBiEncoder, step < settings.TeacherOnlySteps ? 1 : settings.TeacherWeight);
                if (adam is not null && settings.WarmupSteps > 0)
                {
                    foreach (var group in adam.ParamGroups)
                        group.LearningRate = schedule.At(step);
                }
                adam?.zero_grad();
                projected?.ZeroGrad();
                loss.backward();
                var norm = nn.utils.clip_grad_norm_(trained, 1.0);
                if (double.IsFinite(norm))
                {
                    adam?.step();
                    projected?.Step();
                }
                else
                {
                    skipped++;
                }
                var value = loss.item<float>();
                losses.Add((step + 1, value));
                window.Enqueue(value);
                if (window.Count > 20)
                    window.Dequeue();
                pairs += pairCount;
                step++;
                task.Increment(1);
                var seconds = priorSeconds + clock.Elapsed.TotalSeconds;
                task.Description = $"{settings.Name} loss {window.Average():0.000} {pairs / seconds:0.0} pairs/s";
                if (Console.IsOutputRedirected && step % 10 == 0)
                    Console.WriteLine($"step {step} loss(20) {window.Average():0.0000} pairs/s {pairs / seconds:0.0}");
                if (step % settings.CheckpointEvery == 0 || step == settings.Steps)
                    Checkpoint();
            }
        });
        if (step % settings.CheckpointEvery != 0 && step != settings.Steps)
            Checkpoint();

        var wall = priorSeconds + clock.Elapsed.TotalSeconds;
        var finalModel = Path.Combine(settings.RunDirectory, "model.pt");
        model.save(finalModel);
        File.WriteAllLines(Path.Combine(settings.RunDirectory, "loss.csv"),
            ["step,loss", .. losses.Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Step},{l.Loss:G6}"))]);
        string? adapterPath = null;
        if (settings.Adaptation == Adaptation.Lora && settings.AdapterOut is not null && step == settings.Steps)
            adapterPath = ExportAdapter(model, adapters, wall, losses);
        var tail = losses.TakeLast(50).Select(l => l.Loss).DefaultIfEmpty(double.NaN).Average();
        var info = new TextRunInfo(
            settings.Name, settings.Objective.ToString(), settings.Adaptation.ToString(), settings.IsCrossEncoder ? "cross-encoder" : "bi-encoder",
            step, wall, pairs / Math.Max(wall, 1e-9), tail, settings.LearningRate, settings.Rank, settings.Alpha, settings.Seed, settings.Queries,
            settings.Negatives, finalModel, adapterPath, skipped, settings.FusionWeight);
        File.WriteAllText(Path.Combine(settings.RunDirectory, "run.json"), JsonSerializer.Serialize(info, new JsonSerializerOptions { WriteIndented = true }));
        AnsiConsole.MarkupLine($"{settings.Name}: {step}/{settings.Steps} steps, loss(last 50) {tail:0.0000}, {wall / 60:F1} min, {pairs / wall:F1} pairs/s, {skipped} skipped");
    }

    /// <summary>
    /// Cross-encoder loss over candidate lists (gold first in each). Pairs run in micro-batches of similar length, so a
    /// step pays for little padding; the scores are gathered back into list order before the loss.
    /// </summary>
    /// <remarks>
    /// ce-softmax with a teacher: the target of each list is (1 − α)·onehot(gold) + α·p_t, p_t the bi-encoder's softmax
    /// ranking (<see cref="BaseBiEncoder"/>), and the loss is the cross-entropy −Σᵢ targetᵢ · log softmax(s)ᵢ; α = 0 is
    /// the plain softmax loss. With a fusion weight w the scores are the residual sᵢ = f(q, dᵢ) + w · cos(q, dᵢ), so the
    /// cross-encoder learns what the frozen bi-encoder's cosine gets wrong (the score the service would then serve).
    /// </remarks>
    (Tensor Loss, int Pairs) ListLoss(TextModel model, List<CandidateList> lists, Func<string, int[]> tokens, CoSentLoss rawLoss, BaseBiEncoder? baseBiEncoder, double alpha)
    {
        var encoded = lists.SelectMany(l => l.Items.Select(item => TextPair.Encode(tokens(l.Query), tokens(item), 2 * settings.MaxTokens))).ToList();
        var order = Enumerable.Range(0, encoded.Count).OrderBy(i => encoded[i].Ids.Length).ToArray();
        var chunks = new List<Tensor>();
        for (var start = 0; start < order.Length; start += settings.MicroBatch)
        {
            var rows = order.Skip(start).Take(settings.MicroBatch).ToArray();
            using var input = BertBatch.Pad(rows.Select(r => encoded[r].Ids).ToList(), rows.Select(r => encoded[r].Types).ToList());
            chunks.Add(model.Score(input)); // [chunk]
        }
        var inverse = new long[order.Length];
        for (var k = 0; k < order.Length; k++)
            inverse[order[k]] = k;
        var scores = cat(chunks, 0).index_select(0, tensor(inverse)); // [P] in list order
        if (settings.FusionWeight != 0)
            scores = scores + tensor(baseBiEncoder!.Cosines(lists)) * (float)settings.FusionWeight; // [P]
        var labels = tensor(lists.SelectMany(l => l.Items.Select((_, i) => i == CandidateList.Gold ? 1f : 0f)).ToArray());
        switch (settings.Objective)
        {
            case TextObjective.CeSoftmax:
            {
                var soft = baseBiEncoder is null || alpha == 0 ? null : baseBiEncoder.SoftTargets(lists, (float)settings.TeacherScale);
                var targets = soft is null ? labels : labels * (float)(1 - alpha) + tensor(soft) * (float)alpha; // [P]
                var losses = new List<Tensor>();
                var offset = 0L;
                foreach (var list in lists)
                {
                    var n = list.Items.Count;
                    losses.Add((nn.functional.log_softmax(scores.narrow(0, offset, n), 0) * targets.narrow(0, offset, n)).sum().neg());
                    offset += n;
                }
                return (stack(losses).mean(), encoded.Count);
            }
            case TextObjective.CeCoSent:
                return (rawLoss.Compute(scores, labels), encoded.Count);
            case TextObjective.CeBce:
                return (nn.functional.binary_cross_entropy_with_logits(scores, labels), encoded.Count);
            default:
                throw new InvalidOperationException($"{settings.Objective} is not a cross-encoder objective.");
        }
    }

    (Tensor Loss, int Pairs) Loss(
        TextModel model, List<QueryGroup> batch, Random random, Func<string, int[]> tokens,
        CoSentLoss cosineLoss, CoSentLoss rawLoss, InBatchSoftmaxLoss softmaxLoss)
    {
        // Each query: its gold item, then up to N hard negatives drawn without replacement.
        var chosen = batch.Select(g => (g.Query, Candidates: new[] { g.Candidates[0] }
            .Concat(g.Candidates.Skip(1).OrderBy(_ => random.Next()).Take(settings.Negatives)).ToList())).ToList();
        var pairQuery = new List<int>();
        var pairItem = new List<string>();
        var labels = new List<float>();
        for (var q = 0; q < chosen.Count; q++)
            foreach (var c in chosen[q].Candidates)
            {
                pairQuery.Add(q);
                pairItem.Add(c.Item);
                labels.Add(c.Label);
            }
        var labelTensor = tensor(labels.ToArray());
        switch (settings.Objective)
        {
            case TextObjective.BiCoSent:
            {
                using var queries = BertBatch.Pad(chosen.Select(c => tokens(c.Query)).ToList());
                using var items = BertBatch.Pad(pairItem.Select(tokens).ToList());
                var q = model.Embed(queries).index_select(0, tensor(pairQuery.Select(i => (long)i).ToArray())); // [P, D]
                return (cosineLoss.ComputeCosine(q, model.Embed(items), labelTensor), labels.Count);
            }
            case TextObjective.BiSoftmax:
            {
                using var queries = BertBatch.Pad(chosen.Select(c => tokens(c.Query)).ToList());
                using var gold = BertBatch.Pad(chosen.Select(c => tokens(c.Candidates[0].Item)).ToList());
                return (softmaxLoss.Compute(model.Embed(queries), model.Embed(gold)), chosen.Count);
            }
            default:
            {
                var encoded = pairQuery.Select((q, i) => TextPair.Encode(tokens(chosen[q].Query), tokens(pairItem[i]), 2 * settings.MaxTokens)).ToList();
                using var input = BertBatch.Pad(encoded.Select(e => e.Ids).ToList(), encoded.Select(e => e.Types).ToList());
                var scores = model.Score(input); // [P]
                var loss = settings.Objective == TextObjective.CeCoSent
                    ? rawLoss.Compute(scores, labelTensor)
                    : nn.functional.binary_cross_entropy_with_logits(scores, labelTensor);
                return (loss, labels.Count);
            }
        }
    }

    string ExportAdapter(TextModel model, IReadOnlyDictionary<string, LoraLinear> adapters, double wall, List<(int Step, double Loss)> losses)
    {
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>(StringComparer.Ordinal);
        foreach (var (path, adapter) in adapters)
        {
            tensors[$"{path}.lora_U"] = (adapter.U.detach().contiguous().data<float>().ToArray(), adapter.U.shape);
            tensors[$"{path}.lora_V"] = (adapter.V.detach().contiguous().data<float>().ToArray(), adapter.V.shape);
        }
        if (settings.IsCrossEncoder)
        {
            tensors["head.weight"] = (model.Head.weight!.detach().contiguous().data<float>().ToArray(), model.Head.weight.shape);
            tensors["head.bias"] = (model.Head.bias!.detach().contiguous().data<float>().ToArray(), model.Head.bias.shape);
        }
        var extra = new Dictionary<string, string>
        {
            ["objective"] = settings.Objective.ToString(),
            ["steps"] = settings.Steps.ToString(CultureInfo.InvariantCulture),
            ["queries_per_step"] = settings.Queries.ToString(CultureInfo.InvariantCulture),
            ["negatives_per_query"] = settings.Negatives.ToString(CultureInfo.InvariantCulture),
            ["learning_rate"] = settings.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["seed"] = settings.Seed.ToString(CultureInfo.InvariantCulture),
            ["max_tokens"] = settings.MaxTokens.ToString(CultureInfo.InvariantCulture),
            ["wall_seconds"] = wall.ToString("F0", CultureInfo.InvariantCulture),
            ["final_loss_mean_last_50"] = losses.TakeLast(50).Select(l => l.Loss).Average().ToString("G6", CultureInfo.InvariantCulture),
            ["data"] = "WordNet 3.1 zero-shot benchmark, train domains (docs/data/wordnet.md)",
        };
        var info = new TextAdapterInfo(settings.IsCrossEncoder ? "cross-encoder" : "bi-encoder", MiniLmPackage.ModelName, MiniLmPackage.ModelSha256, settings.Rank, settings.Alpha, extra);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(settings.AdapterOut!))!);
        new TextAdapter(info, tensors).Save(settings.AdapterOut!);
        return settings.AdapterOut!;
    }

    sealed record CheckpointState(int Step, long Seed, string Objective, string Adaptation, double WallSeconds, long Pairs, List<double[]> Losses);
}
