using System.CommandLine;
using System.Net;
using System.Text.Json;
using Spectre.Console;

namespace Service.Cli.Benchmarks;

/// <summary>A response (or its absence) that breaks the service's error contract.</summary>
/// <param name="Status">The HTTP status; null when no response came (timeout, client error).</param>
public sealed record FuzzFinding(
    string Category, string Route, string Method, string Path, string? ContentType, int? Status, string Problem, string Excerpt);

/// <param name="ByStatus">Responses by HTTP status; "timeout" and "client-error" for requests that got none.</param>
/// <param name="StoppedAnswering">GET /healthz failed after a batch: the run stopped there.</param>
public sealed record FuzzResult(
    string Url, int Seed, int Count, int Sent, double ElapsedS, SortedDictionary<string, int> ByStatus,
    SortedDictionary<string, SortedDictionary<string, int>> ByCategory, List<FuzzFinding> ServerErrors, List<FuzzFinding> Violations,
    List<FuzzFinding> NoResponse, List<string> HealthChecks, bool StoppedAnswering);

/// <summary>
/// <c>bench fuzz</c>: sends <see cref="RequestFuzzer"/> cases to a running service and checks its error contract: bad input gets a 4xx
/// RFC 9457 problem without internals, never a 5xx, and the process keeps answering. Loopback only.
/// </summary>
public static class FuzzCommand
{
    const int HealthEvery = 1000;
    const int ExcerptLength = 300;
    static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    static readonly string[] LeakMarkers = ["   at ", "/work/", ".cs:line", "Exception"];

    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "The service (loopback only).", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var count = new Option<int>("--count") { Description = "Cases to send.", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<int>("--seed") { Description = "Seed of the cases; the same seed sends the same cases.", DefaultValueFactory = _ => 1 };
        var concurrency = new Option<int>("--concurrency") { Description = "Cases in flight at once.", DefaultValueFactory = _ => 4 };
        var output = new Option<FileInfo?>("--out") { Description = "Write the results as JSON to this file." };
        var command = new Command("fuzz", "Send malformed and hostile requests to every route; fail on any 5xx, leaked internals or a service that stops answering.")
        {
            url, count, seed, concurrency, output,
        };
        command.SetAction((parse, cancellation) =>
        {
            if (LoadCommand.LoopbackUrl(parse.GetValue(url)!, "bench fuzz", out var error) is not { } target)
                return Task.FromResult(LoadCommand.Fail(error));
            if (parse.GetValue(count) < 0 || parse.GetValue(concurrency) < 1)
                return Task.FromResult(LoadCommand.Fail("bench fuzz: --count must be ≥ 0 and --concurrency ≥ 1."));
            return RunAsync(target, parse.GetValue(count), parse.GetValue(seed), parse.GetValue(concurrency), parse.GetValue(output), cancellation);
        });
        return command;
    }

    /// <summary>
    /// The request for a case. With <paramref name="exactPath"/> the path goes out as written, ".." segments and escapes included;
    /// the in-memory test server cannot take such a URI, so tests let the client clean the path up.
    /// </summary>
    public static HttpRequestMessage CreateRequest(Uri baseAddress, FuzzCase fuzzCase, bool exactPath = true)
    {
        var uri = new Uri(baseAddress.GetLeftPart(UriPartial.Authority) + fuzzCase.Path,
            new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = exactPath });
        var request = new HttpRequestMessage(fuzzCase.Method, uri);
        if (fuzzCase.Body is not null || fuzzCase.ContentType is not null)
        {
            request.Content = new ByteArrayContent(fuzzCase.Body ?? []);
            if (fuzzCase.ContentType is not null)
                request.Content.Headers.TryAddWithoutValidation("Content-Type", fuzzCase.ContentType);
        }
        foreach (var (name, value) in fuzzCase.Headers)
            request.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    /// <summary>
    /// What is wrong with an answer besides a 5xx, or null: an admin route that answers 2xx without a valid key, or an error body that is
    /// not application/problem+json or shows a stack trace, a source path or an exception name.
    /// </summary>
    public static string? FindViolation(FuzzCase fuzzCase, int status, string? mediaType, string body)
    {
        if (status < 300 && RequestFuzzer.IsAdminRoute(fuzzCase.Route))
            return $"admin route answered {status} without a valid API key";
        if (status < 400 || body.Length == 0)
            return null;
        if (mediaType != "application/problem+json")
            return $"error body is {mediaType ?? "untyped"}, not application/problem+json";
        return LeakMarkers.FirstOrDefault(body.Contains) is { } marker ? $"error body contains '{marker}'" : null;
    }

    static async Task<int> RunAsync(Uri url, int count, int seed, int concurrency, FileInfo? output, CancellationToken cancellation)
    {
        using var http = LoadCommand.CreateClient(2 * concurrency);
        if (await LoadCommand.ProbeAsync(http, url, cancellation) is { } unreachable)
            return LoadCommand.Fail($"bench fuzz: {unreachable}");

        var tally = new FuzzTally();
        var health = new List<string>();
        var stopped = false;
        var started = DateTime.UtcNow;
        // The random cases, then the code-point sweep (every BMP code point, astral characters, noncharacters).
        var sweep = RequestFuzzer.CodePointSweep().ToList();
        count += sweep.Count;
        using var cases = RequestFuzzer.Generate(seed, count - sweep.Count).Concat(sweep).GetEnumerator();
        while (!stopped && tally.Sent < count && !cancellation.IsCancellationRequested)
        {
            await Parallel.ForEachAsync(Next(cases, HealthEvery), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellation },
                async (fuzzCase, _) => tally.Add(fuzzCase, await SendAsync(http, url, fuzzCase)));
            var healthy = await HealthyAsync(http, url, cancellation);
            health.Add($"after {tally.Sent}: {(healthy ? "200" : "no answer")}");
            stopped = !healthy;
            AnsiConsole.MarkupLineInterpolated(
                $"[grey]{tally.Sent}/{count} cases, {tally.ServerErrors.Count} 5xx, {tally.Violations.Count} violations, /healthz {(healthy ? "200" : "[red]not answering[/]")}[/]");
        }

        var result = tally.Result(url, seed, count, (DateTime.UtcNow - started).TotalSeconds, health, stopped);
        Print(result);
        if (output is not null)
        {
            await File.WriteAllTextAsync(output.WithFolder().FullName, JsonSerializer.Serialize(result, LoadCommand.ResultJson), CancellationToken.None);
            AnsiConsole.MarkupLineInterpolated($"[grey]Wrote {output.FullName}[/]");
        }
        return result.ServerErrors.Count > 0 || result.Violations.Count > 0 || stopped ? 1 : 0;
    }

    static IEnumerable<FuzzCase> Next(IEnumerator<FuzzCase> cases, int count)
    {
        for (var i = 0; i < count && cases.MoveNext(); i++)
            yield return cases.Current;
    }

    /// <summary>An answer to one case: its status and body, or why none came.</summary>
    internal sealed record Outcome(int? Status, string? MediaType, string Body, string? Failure);

    static async Task<Outcome> SendAsync(HttpClient http, Uri url, FuzzCase fuzzCase)
    {
        using var timeout = new CancellationTokenSource(RequestTimeout);
        try
        {
            using var request = CreateRequest(url, fuzzCase);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            return new Outcome((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body, null);
        }
        catch (OperationCanceledException)
        {
            return new Outcome(null, null, "", "timeout");
        }
        catch (Exception e) when (e is HttpRequestException or UriFormatException or InvalidOperationException or FormatException)
        {
            return new Outcome(null, null, e.Message, "client-error");
        }
    }

    static async Task<bool> HealthyAsync(HttpClient http, Uri url, CancellationToken cancellation)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (await LoadCommand.ProbeAsync(http, url, cancellation) is null)
                return true;
            await Task.Delay(TimeSpan.FromSeconds(1), cancellation);
        }
        return false;
    }

    static void Print(FuzzResult result)
    {
        var table = new Table().Title($"bench fuzz: {result.Sent} cases (seed {result.Seed}) in {result.ElapsedS:0.0} s");
        table.AddColumn(new TableColumn("category").NoWrap());
        foreach (var column in new[] { "cases", "2xx", "4xx", "5xx", "no answer", "violations" })
            table.AddColumn(new TableColumn(column).RightAligned());
        foreach (var (category, statuses) in result.ByCategory)
        {
            int Sum(Func<string, bool> which) => statuses.Where(s => which(s.Key)).Sum(s => s.Value);
            var serverErrors = Sum(s => s.StartsWith('5'));
            table.AddRow(category, $"{Sum(_ => true)}", $"{Sum(s => s.StartsWith('2'))}", $"{Sum(s => s.StartsWith('4'))}",
                serverErrors > 0 ? $"[red]{serverErrors}[/]" : "0", $"{Sum(s => !char.IsAsciiDigit(s[0]))}",
                $"{result.Violations.Count(v => v.Category == category)}");
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"By status: {string.Join(", ", result.ByStatus.Select(s => $"{s.Key}: {s.Value}"))}");
        foreach (var (title, findings) in new[] { ("5xx", result.ServerErrors), ("Contract violations", result.Violations), ("No answer", result.NoResponse) })
        {
            var groups = findings.GroupBy(f => (f.Status, f.Route, f.Category, f.ContentType, f.Problem)).ToArray();
            if (groups.Length == 0)
                continue;
            AnsiConsole.MarkupLineInterpolated($"[red]{title}: {findings.Count} in {groups.Length} groups (route, category, content type); the first 20 groups:[/]");
            foreach (var group in groups.Take(20))
            {
                var f = group.First();
                AnsiConsole.MarkupLineInterpolated(
                    $"  {group.Count()}× {f.Status?.ToString() ?? "-"} {f.Method} {Truncate(f.Path, 120)} [[{f.Category}; {f.ContentType ?? "no content type"}]] {f.Problem}: {Truncate(f.Excerpt, 200)}");
            }
        }
        if (result.StoppedAnswering)
            AnsiConsole.MarkupLine("[red]The service stopped answering GET /healthz; the run stopped.[/]");
    }

    static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "…";

    /// <summary>What the run has seen so far; cases are counted from several threads.</summary>
    sealed class FuzzTally
    {
        readonly Lock gate = new();
        readonly SortedDictionary<string, int> byStatus = new(StringComparer.Ordinal);
        readonly SortedDictionary<string, SortedDictionary<string, int>> byCategory = new(StringComparer.Ordinal);

        public int Sent { get; private set; }
        public List<FuzzFinding> ServerErrors { get; } = [];
        public List<FuzzFinding> Violations { get; } = [];
        public List<FuzzFinding> NoResponse { get; } = [];

        public void Add(FuzzCase fuzzCase, Outcome outcome)
        {
            var status = outcome.Status?.ToString() ?? outcome.Failure!;
            var violation = outcome.Status is { } code ? FindViolation(fuzzCase, code, outcome.MediaType, outcome.Body) : null;
            FuzzFinding Finding(string problem) => new(fuzzCase.Category, fuzzCase.Route, fuzzCase.Method.Method, Truncate(fuzzCase.Path, 500),
                fuzzCase.ContentType, outcome.Status, problem, Truncate(outcome.Body, ExcerptLength));
            lock (gate)
            {
                Sent++;
                byStatus[status] = byStatus.GetValueOrDefault(status) + 1;
                var statuses = byCategory.TryGetValue(fuzzCase.Category, out var existing) ? existing : byCategory[fuzzCase.Category] = new(StringComparer.Ordinal);
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                if (outcome.Status >= 500)
                    ServerErrors.Add(Finding("server error"));
                if (violation is not null)
                    Violations.Add(Finding(violation));
                if (outcome.Failure is not null)
                    NoResponse.Add(Finding(outcome.Failure));
            }
        }

        public FuzzResult Result(Uri url, int seed, int count, double seconds, List<string> health, bool stopped) =>
            new(url.ToString(), seed, count, Sent, seconds, byStatus, byCategory, ServerErrors, Violations, NoResponse, health, stopped);
    }
}
