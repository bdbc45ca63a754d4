using Service.Models.Text;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Service.Index;
using Spectre.Console;

namespace Service.Cli.Index;

/// <summary>Recall of one method at one budget, and how often it returns the right synset, averaged over the evaluation queries.</summary>
/// <param name="Role">"dev" for a domain that chooses the k_i/k_r splits, "test" (or null, in older rows) for a reported one.</param>
/// <param name="GoldAcc1">Share of queries whose gold item comes back first (null in rows written before it was measured).</param>
/// <param name="GoldMrr10">Mean reciprocal rank of the gold item in the returned top 10 (0 when it is not there).</param>
/// <param name="Model">The cross-encoder measured (null in rows written before it was recorded).</param>
/// <remarks>
/// Two reference rows carry no budget: <see cref="BiEncoderMethod"/> (the base bi-encoder's top-k, no cross-encoder call;
/// Budget 0) and <see cref="ExhaustiveMethod"/> (every item scored; Budget N).
/// </remarks>
public sealed record CurEvalRow(
    string Domain, string Method, int Budget, int AnchorItems, int Rerank, int Queries, double Recall1, double Recall10, double Recall100, double MeanCalls,
    string? Role = null, double? GoldAcc1 = null, double? GoldMrr10 = null, string? Model = null)
{
    public const string BiEncoderMethod = "bi-encoder top-k";
    public const string ExhaustiveMethod = "exhaustive CE";

    public bool IsReference => Method is BiEncoderMethod or ExhaustiveMethod;
}

/// <summary>
/// <c>index evaluate</c>: top-k recall of ANNCUR (random anchors, two k_i/k_r splits), adaptive ANNCUR and bi-encoder
/// retrieve + CE re-rank against the exact cross-encoder top-k (k = 1, 10, 100), per CE-call budget, on an index built
/// by <c>index build</c>.
/// </summary>
/// <remarks>
/// The exact scores CE(q, every item) are computed once per evaluation query (N calls) and cached under
/// <c>&lt;dir&gt;/exact/&lt;weights sha-256 prefix&gt;/</c>, which makes the run resumable query by query. The methods then score through
/// <see cref="CachedScorer"/>, which answers from that cache and counts calls: the cross-encoder is deterministic, so the
/// methods see exactly the scores a live call would return, at no extra cost.
/// </remarks>
public static class CurEvaluateCommand
{
    public static Command Create()
    {
        var dir = new Option<string>("--dir") { Description = "Folder with items.jsonl, queries.jsonl and index.anncur (from `index wordnet` and `index build`)." };
        var model = ServedCrossEncoder.ModelOption();
        var queries = new Option<int>("--queries") { Description = "Evaluation queries (a fixed sample of queries.jsonl).", DefaultValueFactory = _ => 200 };
        var budgets = new Option<string>("--budgets") { DefaultValueFactory = _ => "50,100,200,500,1000" };
        var splits = new Option<string>("--splits") { Description = "CUR anchor shares k_i/budget to report.", DefaultValueFactory = _ => "0.5,0.8" };
        var splitsFrom = new Option<string?>("--splits-from")
        {
            Description = "Take the two CUR anchor shares with the best mean top-10 recall at budgets ≥ 100 on this dev domain's results instead of --splits.",
        };
        var role = new Option<string>("--role") { Description = "dev: this domain chooses the splits for the test domains.", DefaultValueFactory = _ => "test" };
        role.AcceptOnlyFromAmong("dev", "test");
        var rounds = new Option<int>("--rounds") { Description = "Adaptive rounds.", DefaultValueFactory = _ => 5 };
        var adaptiveShare = new Option<double>("--adaptive-share")
        {
            Description = "Adaptive's anchor share k_i/budget. The default, 0.7, was chosen on the dev domain verb.contact from 0.2–0.9 (docs/results/cur.md), as is the service's Search:AdaptiveAnchorShare.",
            DefaultValueFactory = _ => 0.7,
        };
        adaptiveShare.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() is <= 0 or >= 1)
                result.AddError("--adaptive-share must lie strictly between 0 and 1.");
        });
        var deShares = new Option<string>("--de-shares")
        {
            Description = "Anchor shares k_i/budget of adaptive-de (ADACUR whose first round is the bi-encoder's nearest items); empty: none.",
            DefaultValueFactory = _ => "",
        };
        var rcond = new Option<double?>("--rcond") { Description = "rcond of the pseudo-inverses instead of the index's rule (AnchorIndex.RelativeCutoff); for choosing it on a dev domain." };
        var results = new Option<string>("--results") { DefaultValueFactory = _ => "docs/results/cur/results.jsonl" };
        var report = new Option<string>("--report") { DefaultValueFactory = _ => "docs/results/cur.md" };
        var maxMinutes = new Option<double>("--max-minutes") { Description = "Stop the exact pass after this many minutes (resume later); 0 = no limit." };
        var reportOnly = new Option<bool>("--report-only") { Description = "Only regenerate the report and its figures from the results file." };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads of each model; 0: one per core.", DefaultValueFactory = _ => 0 };
        var command = new Command("evaluate", "Recall of CUR / adaptive CUR / DE re-rank against the exact CE top-k, per budget (resumable).")
        {
            dir, model, queries, budgets, splits, splitsFrom, role, rounds, adaptiveShare, deShares, rcond, results, report, maxMinutes, reportOnly,
            threads,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            if (parse.GetValue(reportOnly))
            {
                CurReport.Write(parse.GetValue(results)!, parse.GetValue(report)!);
                return 0;
            }
            var folder = parse.GetValue(dir) ?? throw new ArgumentException("--dir is required unless --report-only.");
            var domain = Path.GetFileName(Path.GetFullPath(folder));
            var items = IndexCommands.ReadLines<ItemLine>(Path.Combine(folder, "items.jsonl"));
            var all = IndexCommands.ReadLines<QueryLine>(Path.Combine(folder, "queries.jsonl"));
            var sample = all.OrderBy(q => GeneratedBlock.StableHash(q.Id)).Take(parse.GetValue(queries)).ToList();
            using var crossEncoder = IndexCommands.LoadCrossEncoder(parse.GetValue(model)!, parse.GetValue(threads));
            var index = AnchorIndexFile.Load(Path.Combine(folder, "index.anncur"), crossEncoder.WeightsSha256);
            var scorer = new CrossEncoderScorer(crossEncoder);

            // 1. The exact pass, cached per query.
            // Keyed by the cross-encoder's weights, so a run with another model never reads these scores.
            var exactDir = Path.Combine(folder, "exact", crossEncoder.WeightsSha256[..16]);
            Directory.CreateDirectory(exactDir);
            var texts = items.Select(i => i.Text).ToList();
            var clock = Stopwatch.StartNew();
            var limit = parse.GetValue(maxMinutes);
            var done = true;
            await AnsiConsole.Progress().StartAsync(async progress =>
            {
                var task = progress.AddTask($"exact CE over {items.Count:N0} items", maxValue: sample.Count);
                foreach (var query in sample)
                {
                    var path = Path.Combine(exactDir, Sanitize(query.Id) + ".f32");
                    if (!File.Exists(path))
                    {
                        if (limit > 0 && clock.Elapsed.TotalMinutes >= limit)
                        {
                            done = false;
                            break;
                        }
                        var scores = await scorer.ScoreAsync(query.Text, texts, cancellation);
                        await File.WriteAllBytesAsync(path + ".tmp", MemoryMarshal.AsBytes(scores.AsSpan()).ToArray(), cancellation);
                        File.Move(path + ".tmp", path, overwrite: true);
                    }
                    task.Increment(1);
                }
            });
            if (!done)
            {
                AnsiConsole.MarkupLine("Exact pass incomplete (time limit); run the same command again to continue.");
                return 0;
            }
            var exact = sample.Select(q => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(exactDir, Sanitize(q.Id) + ".f32"))).ToArray()).ToList();
            var truth = exact.Select(s => Enumerable.Range(0, s.Length).OrderByDescending(j => s[j]).Take(100).Select(j => items[j].Id).ToArray()).ToList(); // exact top-100 ids per query
            var position = texts.Select((t, i) => (t, i)).GroupBy(x => x.t).ToDictionary(g => g.Key, g => g.First().i);

            // 2. The methods, scored from the cache.
            using var embedderModel = IndexCommands.LoadEmbedder(parse.GetValue(threads));
            var embedder = new SentenceEmbedder(embedderModel);
            var embeddings = await ItemEmbeddings.ComputeAsync(index.Snapshot(), embedder, cancellation);
            // Each query's bi-encoder vector, once (one query per call, as the service embeds a search's query).
            var queryVectors = new float[sample.Count][];
            for (var i = 0; i < sample.Count; i++)
                queryVectors[i] = (await embedder.EmbedAsync([sample[i].Text], cancellation))[0];
            var rows = new List<CurEvalRow>
            {
                await Measure(domain, CurEvalRow.BiEncoderMethod, 0, 0, 0, sample, exact, truth, position, (_, _, i) =>
                {
                    var snapshot = index.Snapshot();
                    var nearest = embeddings.Shortlist(queryVectors[i], snapshot, 100);
                    return Task.FromResult(new AnnCurResult([.. nearest.Select(j => new ScoredItem(snapshot.Id(j), snapshot.Text(j), 0))], 0, default, default, default));
                }),
                await Measure(domain, CurEvalRow.ExhaustiveMethod, items.Count, 0, items.Count, sample, exact, truth, position, (cached, q, _) =>
                    BaselineSearch.ExhaustiveAsync(index, cached, q.Text, 100, cancellation)),
            };
            var budgetList = parse.GetValue(budgets)!.Split(',').Select(int.Parse).Where(b => b < items.Count).ToList();
            var shares = parse.GetValue(splitsFrom) is { } dev
                ? BestShares(parse.GetValue(results)!, dev)
                : parse.GetValue(splits)!.Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToList();
            var domainRole = parse.GetValue(role)!;
            var cutoff = parse.GetValue(rcond);
            var adaptiveAnchorShare = parse.GetValue(adaptiveShare);
            foreach (var budget in budgetList)
            {
                foreach (var share in shares)
                {
                    var anchors = AnchorItems(share, budget);
                    rows.Add(await Measure(domain, $"cur ({share:0.##} anchors)", budget, anchors, budget - anchors, sample, exact, truth, position, (cached, q, i) =>
                        new AnnCurSearch(index, cached).SearchAsync(q.Text, new AnnCurOptions { K = 100, AnchorItems = anchors, Rerank = budget - anchors, Rounds = 1, Seed = i, RelativeCutoff = cutoff }, cancellation)));
                }
                var adaptiveAnchors = AnchorItems(adaptiveAnchorShare, budget);
                var roundCount = Math.Min(parse.GetValue(rounds), adaptiveAnchors);
                rows.Add(await Measure(domain, $"adaptive ({adaptiveAnchorShare:0.##} anchors, {roundCount} rounds)", budget, adaptiveAnchors, budget - adaptiveAnchors, sample, exact, truth, position, (cached, q, i) =>
                    new AnnCurSearch(index, cached).SearchAsync(q.Text, new AnnCurOptions { K = 100, AnchorItems = adaptiveAnchors, Rerank = budget - adaptiveAnchors, Rounds = roundCount, Seed = i, RelativeCutoff = cutoff }, cancellation)));
                foreach (var share in parse.GetValue(deShares)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => double.Parse(v, CultureInfo.InvariantCulture)))
                {
                    var deAnchors = AnchorItems(share, budget);
                    var deRounds = Math.Min(parse.GetValue(rounds), deAnchors);
                    rows.Add(await Measure(domain, $"adaptive-de ({share:0.##} anchors, {deRounds} rounds)", budget, deAnchors, budget - deAnchors, sample, exact, truth, position, (cached, q, i) =>
                        new AnnCurSearch(index, cached).SearchAsync(q.Text, new AnnCurOptions
                        {
                            K = 100, AnchorItems = deAnchors, Rerank = budget - deAnchors, Rounds = deRounds, Seed = i, RelativeCutoff = cutoff,
                            FirstAnchors = (snapshot, count) => embeddings.Shortlist(queryVectors[i], snapshot, count),
                        }, cancellation)));
                }
                rows.Add(await Measure(domain, "de-rerank", budget, 0, budget, sample, exact, truth, position, (cached, q, _) =>
                    BaselineSearch.RetrieveAndRerankAsync(index, embeddings, embedder, cached, q.Text, 100, budget, cancellation)));
            }
            var resultsPath = parse.GetValue(results)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(resultsPath))!);
            var kept = File.Exists(resultsPath) ? CurReport.ReadRows(resultsPath).Where(r => r.Domain != domain).ToList() : [];
            File.WriteAllLines(resultsPath, kept.Concat(rows.Select(r => r with { Role = domainRole, Model = parse.GetValue(model) })).Select(r => JsonSerializer.Serialize(r)));
            CurReport.Write(resultsPath, parse.GetValue(report)!);
            foreach (var r in rows)
                AnsiConsole.MarkupLine(Markup.Escape($"{r.Method} B={r.Budget}: R@1 {r.Recall1:F3} R@10 {r.Recall10:F3} R@100 {r.Recall100:F3} ({r.MeanCalls:F0} calls)"));
            return 0;
        });
        return command;
    }

    /// <summary>k_i for an anchor share of the budget, keeping at least one anchor and one re-rank slot.</summary>
    static int AnchorItems(double share, int budget) => Math.Clamp((int)Math.Round(share * budget), 1, budget - 1);

    static async Task<CurEvalRow> Measure(
        string domain, string method, int budget, int anchors, int rerank, List<QueryLine> sample, List<float[]> exact, List<string[]> truth,
        Dictionary<string, int> position, Func<CachedScorer, QueryLine, int, Task<AnnCurResult>> search)
    {
        double r1 = 0, r10 = 0, r100 = 0, calls = 0, acc1 = 0, mrr10 = 0;
        for (var i = 0; i < sample.Count; i++)
        {
            var cached = new CachedScorer(position, exact[i]);
            var result = await search(cached, sample[i], i);
            if (cached.Calls > Math.Max(budget, 0) && method != CurEvalRow.BiEncoderMethod)
                throw new InvalidOperationException($"{method} used {cached.Calls} CE calls at budget {budget}.");
            calls += cached.Calls;
            var found = result.Items.Select(x => x.Id).ToList();
            r1 += Recall(found, truth[i], 1);
            r10 += Recall(found, truth[i], 10);
            r100 += Recall(found, truth[i], 100);
            var rank = found.Take(10).ToList().IndexOf(sample[i].Gold ?? throw new InvalidOperationException($"Query {sample[i].Id} has no gold item."));
            acc1 += rank == 0 ? 1 : 0;
            mrr10 += rank >= 0 ? 1.0 / (rank + 1) : 0;
        }
        var n = sample.Count;
        return new CurEvalRow(domain, method, budget, anchors, rerank, n, r1 / n, r10 / n, r100 / n, calls / n, GoldAcc1: acc1 / n, GoldMrr10: mrr10 / n);

        static double Recall(List<string> found, string[] truth, int k) =>
            found.Take(k).Intersect(truth.Take(k)).Count() / (double)Math.Min(k, truth.Length);
    }

    /// <summary>
    /// The two anchor shares k_i/B whose CUR rows have the best mean top-10 recall over budgets ≥ 100 on a dev domain:
    /// the split is chosen where it is not reported, as the protocol asks.
    /// </summary>
    public static List<double> BestShares(string resultsPath, string devDomain)
    {
        var rows = CurReport.ReadRows(resultsPath)
            .Where(r => r.Domain == devDomain && r.Role == "dev" && r.Method.StartsWith("cur (", StringComparison.Ordinal) && r.Budget >= 100)
            .ToList();
        if (rows.Count == 0)
            throw new ArgumentException($"No dev rows of domain '{devDomain}' in {resultsPath}; run `index evaluate --role dev` on it first.");
        return [.. rows.GroupBy(r => Math.Round(r.AnchorItems / (double)r.Budget, 1))
            .OrderByDescending(g => g.Average(r => r.Recall10))
            .Take(2)
            .Select(g => g.Key)
            .Order()];
    }

    static string Sanitize(string id) => string.Concat(id.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));


    /// <summary>Answers CE(q, item) from the exact pass's cache and counts the calls a live scorer would have made.</summary>
    sealed class CachedScorer(Dictionary<string, int> position, float[] scores) : ICrossEncoderScorer
    {
        public int Calls { get; private set; }

        public Task<float[]> ScoreAsync(string query, IReadOnlyList<string> items, CancellationToken cancellationToken)
        {
            Calls += items.Count;
            return Task.FromResult(items.Select(t => scores[position[t]]).ToArray());
        }
    }
}
