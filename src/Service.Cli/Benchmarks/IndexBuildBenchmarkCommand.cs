using Service.Models.ModelFiles;
using System.CommandLine;
using System.Diagnostics;
using Service.Cli.Index;
using Service.Index;
using Service.Models.Runtime;
using Service.Models.Serving;
using Service.Models.Text;
using Service.Models.Text.Torch;
using Spectre.Console;
using static Service.Cli.Benchmarks.BenchmarkReport;

namespace Service.Cli.Benchmarks;

/// <summary>
/// <c>bench index-build</c>: cross-encoder calls per second of building R = CE(anchor queries × items) the way <c>index build</c>
/// does it (<see cref="AnchorIndexBuilder"/> over <see cref="CrossEncoderScorer"/>: tokenization, the batching worker,
/// checkpoints, the index file), against a raw loop of <see cref="OnnxCrossEncoder.Run"/> over the very same model calls,
/// tokenized beforehand. Builder / raw is what the build path costs over the bare cross-encoder; the target is ≥ 0.95×.
/// Raw and builder passes alternate, and medians are reported, so a busy machine slows both alike.
/// </summary>
public static class IndexBuildBenchmarkCommand
{
    public static Command Create()
    {
        var items = new Option<string?>("--items") { Description = "JSONL {id, text} per item; default: the items stored in --index." };
        var anchors = new Option<string?>("--anchors") { Description = "JSONL {id, text} per anchor query; default: the anchor queries stored in --index." };
        var index = new Option<string>("--index") { Description = "Index file read for items and anchor queries when --items or --anchors is omitted.", DefaultValueFactory = _ => "models/indexes/verb-motion.anncur" };
        var model = ServedCrossEncoder.ModelOption();
        var itemCount = new Option<int>("--items-count") { Description = "Use the first n items.", DefaultValueFactory = _ => 512 }.AtLeast(1);
        var anchorCount = new Option<int>("--anchor-count") { Description = "Use the first k_q anchor queries.", DefaultValueFactory = _ => 16 }.AtLeast(1);
        var rounds = new Option<int>("--rounds") { Description = "Alternating raw/builder passes; medians are reported.", DefaultValueFactory = _ => 3 }.AtLeast(1);
        var output = new Option<FileInfo?>("--output") { Description = "Write the results as Markdown to this file." };
        var command = new Command("index-build", "Building R (index build path) vs a raw cross-encoder loop over the same batches.")
        {
            items, anchors, index, model, itemCount, anchorCount, rounds, output,
        };
        command.SetAction((parse, cancellation) => RunAsync(
            new Settings(parse.GetValue(items), parse.GetValue(anchors), parse.GetValue(index)!, parse.GetValue(model)!,
                parse.GetValue(itemCount), parse.GetValue(anchorCount), parse.GetValue(rounds)),
            parse.GetValue(output), cancellation));
        return command;
    }

    sealed record Settings(string? Items, string? Anchors, string Index, string Model, int ItemCount, int AnchorCount, int Rounds);

    /// <summary>One ONNX Runtime call: pairs of one anchor query with some items, in the order the worker runs them.</summary>
    sealed record ModelCall(int Anchor, int[] Items, int[][] Ids, int[][] Types);

    static async Task<int> RunAsync(Settings settings, FileInfo? output, CancellationToken cancellation)
    {
        if (settings.Items is not null && !File.Exists(settings.Items))
            return LoadCommand.Fail($"--items: no file at {settings.Items}.");
        if (settings.Anchors is not null && !File.Exists(settings.Anchors))
            return LoadCommand.Fail($"--anchors: no file at {settings.Anchors}.");
        if ((settings.Items is null || settings.Anchors is null) && !File.Exists(settings.Index))
            return LoadCommand.Fail($"--index: no file at {settings.Index} (it supplies the items or anchor queries not given).");
        var stored = settings.Items is null || settings.Anchors is null ? AnchorIndexFile.Load(settings.Index, expectedModelHash: null) : null;
        var allItems = settings.Items is null
            ? StoredItems(stored!)
            : IndexCommands.ReadLines<ItemLine>(settings.Items).Select(i => new IndexItem(i.Id, i.Text)).ToList();
        var allAnchors = settings.Anchors is null
            ? [.. stored!.AnchorQueries]
            : IndexCommands.ReadLines<QueryLine>(settings.Anchors).Select(a => a.Text).ToList();
        var itemSource = settings.Items ?? settings.Index;
        var anchorSource = settings.Anchors ?? settings.Index;
        if (settings.ItemCount > allItems.Count)
            return LoadCommand.Fail($"--items-count {settings.ItemCount} exceeds the {allItems.Count} items in {itemSource}.");
        if (settings.AnchorCount > allAnchors.Count)
            return LoadCommand.Fail($"--anchor-count {settings.AnchorCount} exceeds the {allAnchors.Count} anchor queries in {anchorSource}.");
        var itemList = allItems.GetRange(0, settings.ItemCount);
        var anchorList = allAnchors.GetRange(0, settings.AnchorCount);

        using var crossEncoder = IndexCommands.LoadCrossEncoder(settings.Model);
        var scorer = new CrossEncoderScorer(crossEncoder);
        var builder = new AnchorIndexBuilder(scorer);
        var request = scorer.BuildRequest(anchorList, itemList, ScoreType.Float16); // index build's default --dtype
        var (raw, tokenizer, _) = CrossEncoderModel.LoadAdapted(IndexCommands.AdapterPath(settings.Model), ModelCache.DefaultDirectory, new ExecutionDevice(ExecutionDevice.Cpu));
        using var rawModel = raw;
        var limits = new BatchingLimits(); // as LoadCrossEncoder gives the worker
        var calls = PlanCalls(anchorList, itemList, builder.ShardSize, tokenizer, limits);
        var callsPerPass = (long)anchorList.Count * itemList.Count;

        AnsiConsole.MarkupLine(Markup.Escape(
            $"{itemList.Count} items ({itemSource}) × {anchorList.Count} anchor queries ({anchorSource}) = {Format(callsPerPass, "N0")} CE calls per pass; " +
            $"raw: {calls.Count} model calls; {Environment.ProcessorCount} cores"));
        var rawScores = anchorList.Select(_ => new float[itemList.Count]).ToArray(); // R [k_q × N] from the raw loop
        RawPass(calls.Take(1), rawModel, rawScores); // warm-up, not timed
        await scorer.ScoreAsync(anchorList[0], itemList.Take(8).Select(i => i.Text).ToArray(), cancellation);

        var rawRates = new List<double>();
        var builderRates = new List<double>();
        AnchorIndex? built = null;
        await AnsiConsole.Progress().StartAsync(async progress =>
        {
            var task = progress.AddTask("raw / builder passes", maxValue: 2 * settings.Rounds);
            for (var round = 0; round < settings.Rounds; round++)
            {
                rawRates.Add(callsPerPass / RawPass(calls, rawModel, rawScores).TotalSeconds);
                task.Increment(1);
                (var elapsed, built) = await BuilderPassAsync(builder, request, cancellation);
                builderRates.Add(callsPerPass / elapsed.TotalSeconds);
                task.Increment(1);
            }
        });
        var difference = LargestDifference(rawScores, built!.Snapshot().Scores);

        string[] header = ["CE calls/s", .. Enumerable.Range(1, settings.Rounds).Select(r => $"round {r}"), "median"];
        string[][] rows =
        [
            Row("raw OnnxCrossEncoder.Run loop", rawRates),
            Row("AnchorIndexBuilder (index build path)", builderRates),
            ["builder / raw", .. rawRates.Zip(builderRates, (r, b) => Format(b / r, "0.000")), Format(Median(builderRates) / Median(rawRates), "0.000")],
        ];
        var summary = Summary(settings, itemSource, anchorSource, callsPerPass, calls.Count, builder.ShardSize, limits, rawRates, builderRates, difference);
        Print("bench index-build", header, rows, summary);
        if (output is not null)
            await File.WriteAllTextAsync(output.WithFolder().FullName, Markdown("bench index-build", header, rows, summary), cancellation);
        return 0;

        string[] Row(string name, List<double> rates) => [name, .. rates.Select(r => Format(r, "0.0")), Format(Median(rates), "0.0")];
    }

    static List<IndexItem> StoredItems(AnchorIndex index)
    {
        var snapshot = index.Snapshot();
        return [.. Enumerable.Range(0, snapshot.Count).Select(i => new IndexItem(snapshot.Id(i), snapshot.Text(i)))];
    }

    /// <summary>
    /// The model calls of one build: per item shard of the builder and anchor query, one scorer call, i.e. one worker job.
    /// Pairs are tokenized as <see cref="CrossEncoderModel.ScoreAsync"/> does with truncation on; the builder awaits each job, so the
    /// worker batches it alone, sorts its rows by length and cuts them into calls by <see cref="BatchingLimits"/>.
    /// </summary>
    static List<ModelCall> PlanCalls(List<string> anchors, List<IndexItem> items, int shardSize, TextTokenizer tokenizer, BatchingLimits limits)
    {
        var itemTokens = items.Select(i => tokenizer.Encode(i.Text, truncate: true).Ids).ToArray();
        var anchorTokens = anchors.Select(a => tokenizer.Encode(a, truncate: true).Ids).ToArray();
        var calls = new List<ModelCall>();
        for (var start = 0; start < items.Count; start += shardSize)
        {
            var shard = Enumerable.Range(start, Math.Min(shardSize, items.Count - start)).ToArray();
            for (var t = 0; t < anchors.Count; t++)
            {
                var rows = shard.Select(i => (Item: i, Pair: TextPair.Encode(anchorTokens[t], itemTokens[i], tokenizer.MaxTokens)))
                    .OrderBy(row => row.Pair.Ids.Length).ToArray(); // stable, as the worker's sort
                foreach (var chunk in limits.ModelCalls(rows.Select(row => row.Pair.Ids.Length).ToArray()))
                {
                    var part = rows[chunk];
                    calls.Add(new ModelCall(t, [.. part.Select(r => r.Item)], [.. part.Select(r => r.Pair.Ids)], [.. part.Select(r => r.Pair.Types)]));
                }
            }
        }
        return calls;
    }

    /// <summary>The calls back to back on this thread; scores land in <paramref name="scores"/> [k_q × N].</summary>
    static TimeSpan RawPass(IEnumerable<ModelCall> calls, OnnxCrossEncoder model, float[][] scores)
    {
        var started = Stopwatch.GetTimestamp();
        foreach (var call in calls)
        {
            var output = new float[call.Ids.Length]; // [B], one logit per pair
            model.Run(call.Ids, call.Types, output);
            for (var i = 0; i < output.Length; i++)
                scores[call.Anchor][call.Items[i]] = output[i];
        }
        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>One whole build to a temporary file, deleted after (with any checkpoint left behind).</summary>
    static async Task<(TimeSpan Elapsed, AnchorIndex Index)> BuilderPassAsync(AnchorIndexBuilder builder, AnchorIndexBuildRequest request, CancellationToken cancellation)
    {
        var path = Path.Combine(Path.GetTempPath(), $"bench-index-build-{Guid.NewGuid():N}.anncur");
        try
        {
            var started = Stopwatch.GetTimestamp();
            var index = await builder.BuildAsync(request, path, progress: null, cancellation);
            return (Stopwatch.GetElapsedTime(started), index);
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + ".partial");
        }
    }

    /// <summary>max |raw − built| over R, the raw scores rounded to float16 as the builder stores them: 0 when both ran the same calls.</summary>
    static double LargestDifference(float[][] raw, MatrixRows built)
    {
        var largest = 0.0;
        for (var t = 0; t < raw.Length; t++)
            for (var i = 0; i < raw[t].Length; i++)
                largest = Math.Max(largest, Math.Abs((float)(Half)raw[t][i] - built[t, i]));
        return largest;
    }

    static string Summary(
        Settings settings, string itemSource, string anchorSource, long callsPerPass, int modelCalls, int shardSize, BatchingLimits limits,
        List<double> rawRates, List<double> builderRates, double difference) =>
        $"Builder / raw = **{Format(Median(builderRates) / Median(rawRates), "0.000")}×** (median / median; target ≥ 0.95×). " +
        $"Model {settings.Model}, {Environment.ProcessorCount} cores; the first {settings.ItemCount} items of {itemSource} × the first " +
        $"{settings.AnchorCount} anchor queries of {anchorSource} = {Format(callsPerPass, "N0")} CE calls per pass. " +
        $"Raw: the builder's {modelCalls} ONNX Runtime calls, tokenized beforehand (per {shardSize}-item shard and anchor query, sorted by length, " +
        $"≤ {limits.MaxBatchSequences} pairs and ≤ {limits.MaxBatchTokens} padded tokens a call, ≤ {Format(limits.MaxPaddingFraction * 100, "0")}% padding " +
        $"past {limits.MinCallSequences} pairs). Builder: AnchorIndexBuilder over CrossEncoderScorer to a temporary float16 index file. " +
        $"Largest |raw − builder| score: {Format(difference, "G3")}.";
}
