using Service.Models.ModelFiles;
using System.CommandLine;
using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using Service.Cli.Text;
using Service.Cli.Text.Training;
using Service.Index;
using Service.Models.Runtime;
using Service.Models.Serving;
using Service.Models.Text;
using Spectre.Console;

namespace Service.Cli.Index;

/// <summary>One line of an items file: an index item.</summary>
public sealed record ItemLine(string Id, string Text);

/// <summary>One line of a queries file: a query and, for evaluation queries, its gold item.</summary>
public sealed record QueryLine(string Id, string Text, string? Gold);

/// <summary>
/// <c>index wordnet</c> (items and queries of WordNet domains), <c>index build</c> (R = CE(anchors × items), all items or
/// one item shard <c>--shard i/n</c>, resumable), <c>index merge</c> (shards → one index file). The shard/merge pair is what
/// the Kubernetes Indexed Job in deploy/k8s runs, one completion index per shard.
/// </summary>
public static class IndexCommands
{
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var command = new Command("index", "Build, merge and evaluate CUR anchor indexes (ANNCUR).");
        command.Subcommands.Add(CreateWordNet());
        command.Subcommands.Add(CreateBuild());
        command.Subcommands.Add(CreateMerge());
        command.Subcommands.Add(CurEvaluateCommand.Create());
        return command;
    }

    public static List<T> ReadLines<T>(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<T>(l, Json)!).ToList();

    public static void WriteLines<T>(string path, IEnumerable<T> rows)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllLines(path, rows.Select(r => JsonSerializer.Serialize(r, Json)));
    }

    static Command CreateWordNet()
    {
        var domains = new Option<string>("--domains") { Description = "Comma-separated lexicographer files, e.g. noun.food.", Required = true };
        var anchors = new Option<int>("--anchors") { Description = "k_q anchor queries.", DefaultValueFactory = _ => 100 };
        var anchorSource = new Option<string>("--anchor-source")
        {
            Description = "train: example queries of the training domains | definitions: queries made from the indexed domains' own definitions (a hypernym's lemma marked in its hyponym's definition).",
            DefaultValueFactory = _ => "train",
        };
        anchorSource.AcceptOnlyFromAmong("train", "definitions");
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 5 };
        var output = new Option<string>("--out") { Description = "Folder for items.jsonl, anchors.jsonl, queries.jsonl.", Required = true };
        var data = new Option<string?>("--data") { Description = "data/wordnet (from `data wordnet-benchmark`)." };
        var command = new Command("wordnet", "Write the items and queries of WordNet domains, and anchor queries (training domains' examples or the domains' own definitions).")
        {
            domains, anchors, anchorSource, seed, output, data,
        };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(data) ?? TextData.DefaultDirectory();
            var names = parse.GetValue(domains)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            var items = File.ReadLines(Path.Combine(dir, "items.jsonl")).Where(l => l.Length > 0)
                .Select(l => JsonSerializer.Deserialize<TextData.ItemLine>(l, Json)!).Where(i => names.Contains(i.LexName)).ToList();
            if (items.Count == 0)
                throw new ArgumentException($"No items in {string.Join(", ", names)}; names are lexicographer files such as noun.food.");
            var splits = items.Select(i => i.Split).Distinct().ToList();
            var queries = splits.SelectMany(s => TextData.LoadQueries(dir, s)).Where(q => names.Contains(q.LexName)).ToList();
            var random = new Random(parse.GetValue(seed));
            // No evaluation query is ever an anchor: anchors are the training domains' example sentences, or contexts
            // made from the indexed items' definitions, which the index holds anyway (ANNCUR draws in-domain anchor queries).
            var pool = parse.GetValue(anchorSource) == "definitions"
                ? splits.SelectMany(s => TextData.LoadGlossQueries(dir, s)).Where(q => names.Contains(q.LexName)).ToList()
                : TextData.LoadQueries(dir, "train");
            var anchorQueries = pool.OrderBy(_ => random.Next()).Take(parse.GetValue(anchors)).ToList();
            var folder = parse.GetValue(output)!;
            WriteLines(Path.Combine(folder, "items.jsonl"), items.Select(i => new ItemLine(i.Id, i.Text)));
            WriteLines(Path.Combine(folder, "anchors.jsonl"), anchorQueries.Select(q => new QueryLine(q.Id, q.Text, null)));
            WriteLines(Path.Combine(folder, "queries.jsonl"), queries.Select(q => new QueryLine(q.Id, q.Text, q.Gold)));
            AnsiConsole.MarkupLine($"{items.Count:N0} items, {queries.Count:N0} queries ({string.Join(", ", splits)} split), {anchorQueries.Count} anchors → {folder}");
            return 0;
        });
        return command;
    }

    static Command CreateBuild()
    {
        var items = new Option<string>("--items") { Description = "JSONL {id, text} per item.", Required = true };
        var anchors = new Option<string>("--anchors") { Description = "JSONL {id, text} per anchor query.", Required = true };
        var model = ServedCrossEncoder.ModelOption();
        var shard = new Option<string>("--shard") { Description = "i/n: build item shard i of n (0-based); default 0/1 = all items.", DefaultValueFactory = _ => "0/1" };
        var output = new Option<string>("--out") { Description = "Output folder (shard-<i>-of-<n>.anncur); with 0/1 a file path ending in .anncur is also accepted.", Required = true };
        var dtype = new Option<string>("--dtype") { DefaultValueFactory = _ => "float16" };
        dtype.AcceptOnlyFromAmong("float32", "float16");
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads; 0: one per core.", DefaultValueFactory = _ => 0 };
        var command = new Command("build", "Compute R = CE(anchor queries × items) for all items or one shard; resumable.") { items, anchors, model, shard, output, dtype, threads };
        command.SetAction(async (parse, cancellation) =>
        {
            var (index, count) = ParseShard(parse.GetValue(shard)!);
            var allItems = ReadLines<ItemLine>(parse.GetValue(items)!).Select(i => new IndexItem(i.Id, i.Text)).ToList();
            var anchorTexts = ReadLines<QueryLine>(parse.GetValue(anchors)!).Select(a => a.Text).ToList();
            var start = (int)((long)allItems.Count * index / count);
            var end = (int)((long)allItems.Count * (index + 1) / count);
            var outPath = parse.GetValue(output)!;
            var path = outPath.EndsWith(".anncur", StringComparison.Ordinal) && count == 1
                ? outPath
                : Path.Combine(outPath, $"shard-{index:D4}-of-{count:D4}.anncur");
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            using var crossEncoder = LoadCrossEncoder(parse.GetValue(model)!, parse.GetValue(threads));
            var scorer = new CrossEncoderScorer(crossEncoder);
            var storedAs = parse.GetValue(dtype) == "float16" ? ScoreType.Float16 : ScoreType.Float32;
            var request = scorer.BuildRequest(anchorTexts, allItems.GetRange(start, end - start), storedAs);
            var clock = Stopwatch.StartNew();
            var resumed = 0L;
            await AnsiConsole.Progress().StartAsync(async progress =>
            {
                var task = progress.AddTask($"R shard {index}/{count}: {anchorTexts.Count} × {end - start}", maxValue: (double)anchorTexts.Count * (end - start));
                await new AnchorIndexBuilder(scorer).BuildAsync(request, path, new Progress<AnchorIndexBuildProgress>(p =>
                {
                    resumed = p.CallsResumed;
                    task.Value = p.CallsDone;
                }), cancellation);
            });
            var calls = (long)anchorTexts.Count * (end - start) - resumed;
            AnsiConsole.MarkupLine($"{calls:N0} CE calls in {clock.Elapsed.TotalSeconds:F0} s ({calls / clock.Elapsed.TotalSeconds:F1} calls/s); {resumed:N0} more resumed from the checkpoint → {path}");
            return 0;
        });
        return command;
    }

    static Command CreateMerge()
    {
        var shards = new Option<string>("--shards") { Description = "Folder of shard-<i>-of-<n>.anncur files.", Required = true };
        var output = new Option<string>("--out") { Required = true };
        var command = new Command("merge", "Concatenate the item shards of one build into one index file.") { shards, output };
        command.SetAction(parse =>
        {
            var files = Directory.GetFiles(parse.GetValue(shards)!, "shard-*-of-*.anncur").Order(StringComparer.Ordinal).ToList();
            var merged = Merge(files);
            AnchorIndexFile.Save(merged, parse.GetValue(output)!);
            AnsiConsole.MarkupLine($"{files.Count} shards, {merged.LiveCount:N0} items × {merged.QueryCount} anchors → {parse.GetValue(output)}");
            return 0;
        });
        return command;
    }

    /// <summary>Concatenates shards built with the same model and anchor queries, in shard order; all n shards must be present.</summary>
    public static AnchorIndex Merge(IReadOnlyList<string> files)
    {
        if (files.Count == 0)
            throw new ArgumentException("No shard files found.");
        var expected = ParseShard(Path.GetFileNameWithoutExtension(files[0]).Split("-of-")[1] is var n ? $"0/{int.Parse(n)}" : "0/1").Count;
        if (files.Count != expected)
            throw new InvalidDataException($"Found {files.Count} shard files but the build has {expected} shards.");
        var shards = files.Select(f => AnchorIndexFile.Load(f, expectedModelHash: null)).ToList();
        var first = shards[0];
        foreach (var (shard, file) in shards.Zip(files))
        {
            if (shard.Info.ModelHash != first.Info.ModelHash || shard.Info.StoredAs != first.Info.StoredAs || !shard.AnchorQueries.SequenceEqual(first.AnchorQueries))
                throw new InvalidDataException($"{file} was built with another model, score type or anchor set than {files[0]}.");
        }
        var items = new List<IndexItem>();
        var rows = Enumerable.Range(0, first.QueryCount).Select(_ => new List<float>()).ToArray();
        foreach (var shard in shards)
        {
            var snapshot = shard.Snapshot();
            for (var i = 0; i < snapshot.Count; i++)
                items.Add(new IndexItem(snapshot.Id(i), snapshot.Text(i)));
            for (var q = 0; q < first.QueryCount; q++)
                rows[q].AddRange(snapshot.Scores.Row(q).ToArray());
        }
        return new AnchorIndex(first.Info with { Created = DateTimeOffset.UtcNow }, first.AnchorQueries, items, rows.Select(r => r.ToArray()).ToArray());
    }

    public static (int Index, int Count) ParseShard(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var index) || !int.TryParse(parts[1], out var count) || count < 1 || index < 0 || index >= count)
            throw new ArgumentException($"--shard must be i/n with 0 ≤ i < n; got '{text}'.");
        return (index, count);
    }

    /// <summary>A configured cross-encoder adapter (appsettings Models:Adapters) on the CPU, through its batching worker.</summary>
    /// <param name="threads">ONNX Runtime intra-op threads; 0: one per core. 1 beside another long job on these 2 cores.</param>
    public static CrossEncoderModel LoadCrossEncoder(string name, int threads = 0)
    {
        var (_, load) = CrossEncoderModel.MiniLmAdapter(name, ModelCache.DefaultDirectory, new ExecutionDevice(ExecutionDevice.Cpu, IntraOpThreads: threads), new BatchingLimits());
        return load(AdapterPath(name));
    }

    /// <summary>models/text/&lt;name&gt;/adapter.safetensors of the repository the CLI runs in (else of the current directory).</summary>
    public static string AdapterPath(string name)
    {
        var root = DataCommands.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? Directory.GetCurrentDirectory();
        return Path.Combine(root, "models", "text", name, "adapter.safetensors");
    }

    /// <summary>The base MiniLM bi-encoder (the service's default embedding model) on the CPU, through its batching worker.</summary>
    public static SentenceEmbeddingModel LoadEmbedder(int threads = 0)
    {
        var (_, load) = SentenceEmbeddingModel.MiniLm(ModelCache.DefaultDirectory, new ExecutionDevice(ExecutionDevice.Cpu, IntraOpThreads: threads), new BatchingLimits());
        return load();
    }
}
