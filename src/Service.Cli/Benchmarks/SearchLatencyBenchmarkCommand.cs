using Service.Models.Text;
using System.CommandLine;
using System.Diagnostics;
using Service.Cli.Index;
using Service.Index;
using Spectre.Console;
using static Service.Cli.Benchmarks.BenchmarkReport;

namespace Service.Cli.Benchmarks;

/// <summary>
/// <c>bench search</c>: where the time of one live ANNCUR search goes with the real cross-encoder — CE calls on anchor items,
/// the approximation (ŝ, pseudo-inverses, top-k; the bi-encoder for de-rerank), CE calls re-ranking — per method, set up as
/// POST /v1/search sets it up (the default k_i of each method, Search:AdaptiveRounds, Search:AnchorSeed). Medians and p95 over a fixed list of
/// queries; the methods take turns query by query, so a busy machine slows them alike.
/// </summary>
public static class SearchLatencyBenchmarkCommand
{
    static readonly string[] Methods = ["cur", "adaptive", "adaptive-de", "de-rerank"];

    /// <summary>Natural questions about motion, for the WordNet verb.motion demo index; cycled when more queries are asked.</summary>
    static readonly string[] Queries =
    [
        "how do birds fly south for the winter",
        "what is the fastest way to run a mile",
        "how do snakes move without legs",
        "how do you swim across a river",
        "what does it mean to stroll through a park",
        "how do babies learn to crawl",
        "why do leaves fall from trees in autumn",
        "how do kangaroos hop so far",
        "what is the best way to climb a steep hill",
        "how do you glide on ice skates",
        "how do dancers spin without getting dizzy",
        "what makes a ball bounce",
        "how do salmon swim upstream",
        "how do you march in step with a band",
        "what is the difference between jogging and sprinting",
        "how do horses gallop",
        "why does a boat drift downstream",
        "how do you roll down a grassy hill",
        "why do people wander aimlessly",
        "how do astronauts float in space",
        "how can I jump higher",
        "how does a driver swerve to avoid an obstacle",
        "how do you tiptoe quietly past someone",
        "how do you slide into second base",
    ];

    const string WarmUpQuery = "how do things move from one place to another";

    public static Command Create()
    {
        var index = new Option<string>("--index") { DefaultValueFactory = _ => "models/indexes/verb-motion.anncur" };
        var model = ServedCrossEncoder.ModelOption("; the index must have been built with it");
        var queries = new Option<int>("--queries") { Description = "Measured queries per method (a fixed list, cycled), after one warm-up.", DefaultValueFactory = _ => 50 }.AtLeast(1);
        var budget = new Option<int>("--budget") { Description = "CE calls per search; cur and adaptive take the service's default k_i (Search:CurAnchorShare, Search:AdaptiveAnchorShare).", DefaultValueFactory = _ => 100 }.AtLeast(2);
        var k = new Option<int>("--k") { Description = "Results per search.", DefaultValueFactory = _ => 10 }.AtLeast(1);
        var methods = new Option<string>("--methods") { Description = $"Comma-separated, of {string.Join(", ", Methods)}.", DefaultValueFactory = _ => string.Join(',', Methods) };
        methods.Validators.Add(result =>
        {
            var names = Split(result.GetValueOrDefault<string>());
            if (names.Length == 0 || names.Any(n => !Methods.Contains(n)) || names.Distinct().Count() != names.Length)
                result.AddError($"--methods must be distinct names among {string.Join(", ", Methods)}; got '{result.GetValueOrDefault<string>()}'.");
        });
        var output = new Option<FileInfo?>("--output") { Description = "Write the results as Markdown to this file." };
        var command = new Command("search", "Per-query latency split of live ANNCUR search with the real cross-encoder.")
        {
            index, model, queries, budget, k, methods, output,
        };
        command.SetAction((parse, cancellation) => RunAsync(
            new Settings(parse.GetValue(index)!, parse.GetValue(model)!, parse.GetValue(queries), parse.GetValue(budget), parse.GetValue(k), Split(parse.GetValue(methods)!)),
            parse.GetValue(output), cancellation));
        return command;
    }

    sealed record Settings(string Index, string Model, int Queries, int Budget, int K, string[] Methods);

    /// <summary>One search: its stage times and total in ms, and its CE calls.</summary>
    sealed record Sample(double AnchorScoring, double Approximation, double Rerank, double Total, int Calls);

    static string[] Split(string? list) => list?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];

    static async Task<int> RunAsync(Settings settings, FileInfo? output, CancellationToken cancellation)
    {
        if (!File.Exists(settings.Index))
            return LoadCommand.Fail($"--index: no file at {settings.Index}.");
        if (settings.K > settings.Budget)
            return LoadCommand.Fail($"--k {settings.K} exceeds --budget {settings.Budget}: only scored items are returned.");
        using var crossEncoder = IndexCommands.LoadCrossEncoder(settings.Model);
        var index = AnchorIndexFile.Load(settings.Index, crossEncoder.WeightsSha256);
        if (settings.Budget > index.LiveCount)
            return LoadCommand.Fail($"--budget {settings.Budget} exceeds the {index.LiveCount} items of {settings.Index}.");
        var scorer = new CrossEncoderScorer(crossEncoder);
        var policy = new AnnCurPolicy(); // the index library's defaults, as the service serves them: anchor shares, adaptive rounds and anchor seed
        AnnCurOptions Options(string method) => policy.Options(method, settings.K, settings.Budget);

        // de-rerank's and adaptive-de's item embeddings are index setup in the service too, so they are computed here, untimed.
        using var embedderModel = settings.Methods.Any(m => m is "de-rerank" or "adaptive-de") ? IndexCommands.LoadEmbedder() : null;
        var embedder = embedderModel is null ? null : new SentenceEmbedder(embedderModel);
        var embeddings = embedder is null ? null : await ItemEmbeddings.ComputeAsync(index.Snapshot(), embedder, cancellation);

        Task<AnnCurResult> Search(string method, string query) => method switch
        {
            "de-rerank" => BaselineSearch.RetrieveAndRerankAsync(index, embeddings!, embedder!, scorer, query, settings.K, settings.Budget, cancellation),
            "adaptive-de" => AdaptiveDeAsync(query),
            _ => new AnnCurSearch(index, scorer).SearchAsync(query, Options(method), cancellation),
        };

        // As the service runs it: the query's embedding, then ADACUR from the nearest items (the embedding counts in the total only).
        async Task<AnnCurResult> AdaptiveDeAsync(string query)
        {
            var vector = (await embedder!.EmbedAsync([query], cancellation))[0];
            return await new AnnCurSearch(index, scorer).SearchAsync(
                query, Options("adaptive-de") with { FirstAnchors = (snapshot, count) => embeddings!.Shortlist(vector, snapshot, count) }, cancellation);
        }

        async Task<Sample> Measure(string method, string query)
        {
            var started = Stopwatch.GetTimestamp();
            var result = await Search(method, query);
            var total = Stopwatch.GetElapsedTime(started);
            return new Sample(result.AnchorScoring.TotalMilliseconds, result.Approximation.TotalMilliseconds, result.Rerank.TotalMilliseconds, total.TotalMilliseconds, result.CrossEncoderCalls);
        }

        foreach (var method in settings.Methods)
            await Measure(method, WarmUpQuery); // also builds the fixed anchor set's U and E, as a served index's first search does
        var samples = settings.Methods.ToDictionary(m => m, _ => new List<Sample>());
        await AnsiConsole.Progress().StartAsync(async progress =>
        {
            var task = progress.AddTask($"{settings.Queries} queries × {settings.Methods.Length} methods", maxValue: settings.Queries);
            for (var q = 0; q < settings.Queries; q++)
            {
                foreach (var method in settings.Methods)
                    samples[method].Add(await Measure(method, Queries[q % Queries.Length]));
                task.Increment(1);
            }
        });

        var header = new[] { "method", "mean CE calls", "anchor CE", "approximation", "re-rank CE", "total" };
        var rows = settings.Methods.Select(method =>
        {
            var s = samples[method];
            return new[]
            {
                method, Format(s.Average(x => x.Calls), "0.0"),
                Stage(s.Select(x => x.AnchorScoring)), Stage(s.Select(x => x.Approximation)), Stage(s.Select(x => x.Rerank)), Stage(s.Select(x => x.Total)),
            };
        }).ToArray();
        var summary = Summary(settings, index, Options("cur"), Options("adaptive"), Options("adaptive-de"));
        Print("bench search", header, rows, summary);
        if (output is not null)
            await File.WriteAllTextAsync(output.WithFolder().FullName, Markdown("bench search", header, rows, summary), cancellation);
        return 0;
    }

    static string Stage(IEnumerable<double> milliseconds)
    {
        var values = milliseconds.ToList();
        return $"{Format(Median(values), "0.00")} / {Format(Percentile(values, 95), "0.00")}";
    }

    static string Summary(Settings settings, AnchorIndex index, AnnCurOptions cur, AnnCurOptions adaptive, AnnCurOptions adaptiveDe)
    {
        var n = index.LiveCount;
        var rBytes = (long)index.QueryCount * n * sizeof(float); // in memory R is float32, whatever the file stores
        var distinct = Math.Min(settings.Queries, Queries.Length);
        return $"Index {settings.Index}: N = {Format(n, "N0")} items, k_q = {index.QueryCount}, R in memory {Format(rBytes, "N0")} bytes " +
            $"({Format(rBytes / 1048576.0, "0.00")} MiB, float32; {index.Info.StoredAs.ToString().ToLowerInvariant()} on disk). Model {settings.Model}, {Environment.ProcessorCount} cores. " +
            $"{settings.Queries} queries per method ({distinct} distinct) after one warm-up; budget {settings.Budget}, k = {settings.K}; " +
            $"cur: k_i = {cur.AnchorItems}, k_r = {cur.Rerank}; adaptive: k_i = {adaptive.AnchorItems} in {adaptive.Rounds} rounds, k_r = {adaptive.Rerank}; " +
            $"adaptive-de: k_i = {adaptiveDe.AnchorItems} in {adaptiveDe.Rounds} rounds, the first round the nearest items by all-MiniLM-L6-v2 (the query's embedding in the total only), k_r = {adaptiveDe.Rerank}; de-rerank: the budget nearest by " +
            "all-MiniLM-L6-v2, embeddings computed beforehand. Times in ms, median / p95: the stages as the search result carries them, the total timed around the call.";
    }
}
