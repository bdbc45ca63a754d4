using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Spectre.Console;

namespace Service.Cli.Benchmarks;

/// <summary>
/// <c>bench load</c>: an open-loop load generator. Request i is sent at start + i / rate whether or not earlier ones were answered,
/// as real clients arrive, so an overloaded service shows up as queueing, 429s and latency rather than as a slower client.
/// Loopback only: it is a tool for measuring this service on this machine, not for loading anything else.
/// </summary>
public static class LoadCommand
{
    static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    /// <summary>The JSON options of the bench load and bench fuzz result files.</summary>
    internal static readonly JsonSerializerOptions ResultJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    static readonly MediaTypeHeaderValue JsonType = new("application/json");
    static readonly Dictionary<string, string> RoutePaths = new()
    {
        ["embed"] = "/embed", ["similarity"] = "/similarity", ["rerank"] = "/rerank", ["search"] = "/v1/search",
    };
    static readonly string[] Words =
    [
        "river", "guitar", "bank", "money", "music", "train", "city", "morning", "storm", "garden", "kitchen", "teacher", "child", "dog",
        "runs", "walks", "plays", "reads", "builds", "opens", "carries", "watches", "jumps", "climbs", "slowly", "quickly", "quietly",
        "old", "new", "green", "bright", "small", "heavy", "across", "under", "over", "near", "the", "a", "and", "with", "after",
    ];

    sealed record Settings(
        Uri Url, string[] Routes, double Rate, double Duration, double Warmup, int MaxInFlight, int? Pid, string? ApiKey, FileInfo? Out,
        string? Label, int Seed);

    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "The service (loopback only).", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var route = new Option<string[]>("--route")
        {
            Description = "embed, similarity, rerank or search; repeat or comma-separate. The rate is split evenly across them.",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => ["embed"],
        };
        var rate = new Option<double>("--rate") { Description = "Requests per second, all routes together.", DefaultValueFactory = _ => 10 };
        var duration = new Option<double>("--duration") { Description = "Measured seconds.", DefaultValueFactory = _ => 60 };
        var warmup = new Option<double>("--warmup") { Description = "Seconds at the same rate before measuring; not counted.", DefaultValueFactory = _ => 5 };
        var maxInFlight = new Option<int>("--max-in-flight")
        {
            Description = "Requests awaiting an answer at most; beyond it a request is counted as client-dropped, not queued.",
            DefaultValueFactory = _ => 512,
        };
        var pid = new Option<int?>("--pid") { Description = "The server's process id: its VmRSS is sampled every 250 ms." };
        var apiKey = new Option<string?>("--api-key") { Description = "Sent as X-API-Key." };
        var output = new Option<FileInfo?>("--out") { Description = "Write the results as JSON to this file." };
        var label = new Option<string?>("--label") { Description = "A name for this phase in the table and the JSON." };
        var seed = new Option<int>("--seed") { Description = "Seed of the request texts.", DefaultValueFactory = _ => 1 };
        var command = new Command("load", "Send requests at a fixed rate (open loop) and report throughput, status counts, latency and server memory.")
        {
            url, route, rate, duration, warmup, maxInFlight, pid, apiKey, output, label, seed,
        };
        command.SetAction((parse, cancellation) =>
        {
            var routes = parse.GetValue(route)!.SelectMany(r => r.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
            if (LoopbackUrl(parse.GetValue(url)!, "bench load", out var error) is not { } target)
                return Task.FromResult(Fail(error));
            if (routes.Length == 0 || routes.Any(r => !RoutePaths.ContainsKey(r)))
                return Task.FromResult(Fail($"bench load: --route must name {string.Join(", ", RoutePaths.Keys)}; got '{string.Join(",", routes)}'."));
            if (!(parse.GetValue(rate) > 0) || !(parse.GetValue(duration) > 0) || !(parse.GetValue(warmup) >= 0) || parse.GetValue(maxInFlight) < 1)
                return Task.FromResult(Fail("bench load: --rate and --duration must be > 0, --warmup ≥ 0 and --max-in-flight ≥ 1."));
            if (parse.GetValue(pid) is { } id && RssSampler.Read(id) is null)
                return Task.FromResult(Fail($"bench load: no process {id} to sample (/proc/{id}/status is not readable)."));
            return RunAsync(new Settings(target, routes, parse.GetValue(rate), parse.GetValue(duration), parse.GetValue(warmup), parse.GetValue(maxInFlight),
                parse.GetValue(pid), parse.GetValue(apiKey), parse.GetValue(output), parse.GetValue(label), parse.GetValue(seed)), cancellation);
        });
        return command;
    }

    static async Task<int> RunAsync(Settings settings, CancellationToken cancellation)
    {
        using var http = CreateClient(settings.MaxInFlight);
        if (await ProbeAsync(http, settings.Url, cancellation) is { } unreachable)
            return Fail($"bench load: {unreachable}");

        using var stopSampling = new CancellationTokenSource();
        var sampler = settings.Pid is { } pid ? new RssSampler(pid) : null;
        var sampling = sampler?.RunAsync(stopSampling.Token) ?? Task.CompletedTask;
        var started = DateTimeOffset.UtcNow;
        var run = new OpenLoopRun(http, settings);
        var measuredSeconds = await run.RunAsync(cancellation);
        await stopSampling.CancelAsync();
        await sampling;

        var result = new LoadResult(settings.Label, settings.Url.ToString(), settings.Routes, settings.Rate, settings.Duration, settings.Warmup,
            measuredSeconds, settings.MaxInFlight, started, [.. settings.Routes.Distinct().Select(r => run.PerRoute[r].Summarize(measuredSeconds))],
            run.Total.Summarize(measuredSeconds), run.WarmupServerErrors, run.MaxScheduleLagMs, sampler?.Finish());
        LoadReport.Print(result);
        if (settings.Out is not null)
        {
            await File.WriteAllTextAsync(settings.Out.FullName, JsonSerializer.Serialize(result, ResultJson), CancellationToken.None);
            AnsiConsole.MarkupLineInterpolated($"[grey]Wrote {settings.Out.FullName}[/]");
        }
        return result.Total.Status.ServerErrors + result.WarmupServerErrors > 0 ? 1 : 0;
    }

    /// <summary>The schedule, the senders and what they count.</summary>
    sealed class OpenLoopRun(HttpClient http, Settings settings)
    {
        int inFlight;
        long warmupServerErrors;

        public Dictionary<string, LoadStatistics> PerRoute { get; } = settings.Routes.Distinct().ToDictionary(r => r, r => new LoadStatistics(r));
        public LoadStatistics Total { get; } = new("total");
        public long WarmupServerErrors => Interlocked.Read(ref warmupServerErrors);
        public double MaxScheduleLagMs { get; private set; }

        /// <summary>Sends the whole schedule, waits for every answer and returns the seconds actually measured (less when interrupted).</summary>
        public async Task<double> RunAsync(CancellationToken cancellation)
        {
            var random = new Random(settings.Seed);
            var total = (long)Math.Floor((settings.Warmup + settings.Duration) * settings.Rate);
            var pending = new List<Task>();
            var measured = settings.Duration;
            var start = Stopwatch.GetTimestamp();
            try
            {
                for (long i = 0; i < total; i++)
                {
                    var due = i / settings.Rate;
                    var wait = due - Stopwatch.GetElapsedTime(start).TotalSeconds;
                    if (wait > 0)
                        await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait * 1000)), cancellation);
                    MaxScheduleLagMs = Math.Max(MaxScheduleLagMs, (Stopwatch.GetElapsedTime(start).TotalSeconds - due) * 1000);

                    var route = settings.Routes[(int)(i % settings.Routes.Length)];
                    var counted = due >= settings.Warmup;
                    var body = JsonSerializer.SerializeToUtf8Bytes(Body(route, random));
                    if (counted)
                    {
                        PerRoute[route].Scheduled();
                        Total.Scheduled();
                    }
                    if (Volatile.Read(ref inFlight) >= settings.MaxInFlight)
                    {
                        if (counted)
                        {
                            PerRoute[route].Dropped();
                            Total.Dropped();
                        }
                        continue;
                    }
                    Interlocked.Increment(ref inFlight);
                    pending.Add(SendAsync(route, body, counted));
                }
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                AnsiConsole.MarkupLine("[yellow]Interrupted: reporting the requests sent so far.[/]");
                measured = Math.Clamp(Stopwatch.GetElapsedTime(start).TotalSeconds - settings.Warmup, 1e-3, settings.Duration);
            }
            await Task.WhenAll(pending);
            return measured;
        }

        async Task SendAsync(string route, byte[] body, bool counted)
        {
            var statistics = counted ? new[] { PerRoute[route], Total } : [];
            try
            {
                using var timeout = new CancellationTokenSource(RequestTimeout);
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(settings.Url, RoutePaths[route]))
                {
                    Content = new ByteArrayContent(body) { Headers = { ContentType = JsonType } },
                };
                if (settings.ApiKey is not null)
                    request.Headers.Add("X-API-Key", settings.ApiKey);
                var sent = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
                var milliseconds = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                var status = (int)response.StatusCode;
                if (!counted && status >= 500)
                    Interlocked.Increment(ref warmupServerErrors);
                foreach (var s in statistics)
                    s.Response(status, milliseconds, response.Headers.RetryAfter is not null);
            }
            catch (OperationCanceledException)
            {
                foreach (var s in statistics)
                    s.Timeout();
            }
            catch (HttpRequestException)
            {
                foreach (var s in statistics)
                    s.ClientError();
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }
    }

    /// <summary>A realistic request of the route: short English sentences of 5-20 words from a fixed word list.</summary>
    static object Body(string route, Random random) => route switch
    {
        "embed" => new { inputs = Sentences(random, random.Next(1, 5)) },
        "similarity" => new { inputs = new { source_sentence = Sentence(random), sentences = Sentences(random, 4) } },
        "rerank" => new { query = Sentence(random), texts = Sentences(random, 8) },
        _ => new { index = "verb-motion", query = Sentence(random), k = 10, budget = 100, method = "cur" },
    };

    static string[] Sentences(Random random, int count) => [.. Enumerable.Range(0, count).Select(_ => Sentence(random))];

    static string Sentence(Random random)
    {
        var words = Enumerable.Range(0, random.Next(5, 21)).Select(_ => Words[random.Next(Words.Length)]).ToArray();
        words[0] = char.ToUpperInvariant(words[0][0]) + words[0][1..];
        return string.Join(' ', words) + ".";
    }

    /// <summary>The URL when it is http(s) on a loopback host; otherwise null and a one-line reason.</summary>
    internal static Uri? LoopbackUrl(string text, string tool, out string error)
    {
        error = "";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            error = $"{tool}: --url '{text}' is not an http(s) URL.";
        else if (!uri.IsLoopback)
            error = $"{tool}: --url host '{uri.Host}' is not a loopback address; it only targets a service on this machine (127.0.0.1, [::1] or localhost).";
        return error.Length == 0 ? uri : null;
    }

    /// <summary>One client for a whole run: pooled connections (renewed every few minutes), no client-side timeout (requests carry their own).</summary>
    internal static HttpClient CreateClient(int maxConnections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = maxConnections,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>Null when GET /healthz answers 200 within 5 s; otherwise why not, in one line.</summary>
    internal static async Task<string?> ProbeAsync(HttpClient http, Uri url, CancellationToken cancellation)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            using var response = await http.GetAsync(new Uri(url, "/healthz"), timeout.Token);
            return response.StatusCode == HttpStatusCode.OK ? null : $"{url} answers GET /healthz with {(int)response.StatusCode}.";
        }
        catch (HttpRequestException e)
        {
            return $"no service answers at {url} ({e.Message}).";
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return $"{url} did not answer GET /healthz within 5 s.";
        }
    }

    /// <summary>Prints a tool error (not the service's) as one line; exit code 2.</summary>
    internal static int Fail(string message)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]{message}[/]");
        return 2;
    }
}
