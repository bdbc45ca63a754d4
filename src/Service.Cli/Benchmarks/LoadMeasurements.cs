using System.Text.Json.Serialization;
using Spectre.Console;

namespace Service.Cli.Benchmarks;

public sealed record LatencySummary(int Count, double P50, double P90, double P99, double Max);

/// <param name="ClientDropped">Not sent because --max-in-flight requests were already waiting.</param>
/// <param name="ClientErrors">Failed without an HTTP response (connection refused or reset).</param>
public sealed record StatusCounts(
    long Ok, long TooManyRequests, long Unavailable, long OtherClientErrors, long ServerErrors, long Other, long Timeouts, long ClientErrors,
    long ClientDropped);

/// <param name="Scheduled">Requests due in the measured phase; Sent leaves out the client-dropped ones.</param>
/// <param name="Completed">Requests answered with any HTTP status.</param>
/// <param name="RetryAfterOn429">yes: every 429 had Retry-After; no: some had none; "-": no 429.</param>
public sealed record RouteResult(
    string Route, long Scheduled, long Sent, long Completed, double CompletedPerSecond, double OkPerSecond, StatusCounts Status,
    LatencySummary OkLatencyMs, LatencySummary AllLatencyMs, [property: JsonPropertyName("retry_after_on_429")] string RetryAfterOn429);

public sealed record MemoryResult(int Pid, double PeakRssMib, double FinalRssMib, int Samples);

/// <param name="MaxScheduleLagMs">How late the generator itself sent a request; large values mean the client, not the service, limited the rate.</param>
/// <param name="WarmupServerErrors">5xx answers to warm-up requests, which are otherwise not counted.</param>
public sealed record LoadResult(
    string? Label, string Url, string[] Routes, double Rate, double DurationS, double WarmupS, double MeasuredS, int MaxInFlight,
    DateTimeOffset Started, RouteResult[] PerRoute, RouteResult Total, long WarmupServerErrors, double MaxScheduleLagMs, MemoryResult? Memory);

/// <summary>Counts and latencies of one route (or of all) over the measured phase of <c>bench load</c>; safe to record from any thread.</summary>
sealed class LoadStatistics(string route)
{
    readonly Lock gate = new();
    readonly List<double> okLatencies = [];
    readonly List<double> allLatencies = [];
    long scheduled, dropped, ok, tooMany, unavailable, otherClientErrors, serverErrors, other, timeouts, clientErrors, retryAfterSeen, retryAfterMissing;

    public void Scheduled() => Interlocked.Increment(ref scheduled);

    public void Dropped() => Interlocked.Increment(ref dropped);

    public void Timeout() => Interlocked.Increment(ref timeouts);

    public void ClientError() => Interlocked.Increment(ref clientErrors);

    public void Response(int status, double milliseconds, bool hasRetryAfter)
    {
        lock (gate)
        {
            allLatencies.Add(milliseconds);
            switch (status)
            {
                case >= 200 and < 300:
                    ok++;
                    okLatencies.Add(milliseconds);
                    break;
                case 429:
                    tooMany++;
                    if (hasRetryAfter)
                        retryAfterSeen++;
                    else
                        retryAfterMissing++;
                    break;
                case 503:
                    unavailable++;
                    break;
                case >= 400 and < 500:
                    otherClientErrors++;
                    break;
                case >= 500:
                    serverErrors++;
                    break;
                default:
                    other++;
                    break;
            }
        }
    }

    public RouteResult Summarize(double seconds)
    {
        lock (gate)
        {
            var sent = scheduled - dropped;
            var completed = allLatencies.Count;
            var retryAfter = tooMany == 0 ? "-" : retryAfterMissing == 0 ? "yes" : "no";
            return new RouteResult(route, scheduled, sent, completed, completed / seconds, ok / seconds,
                new StatusCounts(ok, tooMany, unavailable, otherClientErrors, serverErrors, other, timeouts, clientErrors, dropped),
                Percentiles(okLatencies), Percentiles(allLatencies), retryAfter);
        }
    }

    static LatencySummary Percentiles(List<double> values)
    {
        if (values.Count == 0)
            return new LatencySummary(0, 0, 0, 0, 0);
        var sorted = values.Order().ToArray();
        return new LatencySummary(sorted.Length, BenchmarkReport.PercentileOfSorted(sorted, 50), BenchmarkReport.PercentileOfSorted(sorted, 90),
            BenchmarkReport.PercentileOfSorted(sorted, 99), sorted[^1]);
    }
}

/// <summary>Samples a process's resident memory (VmRSS of /proc/PID/status) every 250 ms, for the peak a load phase drives it to.</summary>
sealed class RssSampler(int pid)
{
    double peak, last;
    int samples;

    /// <summary>VmRSS in MiB, or null when the process (or /proc) is not there.</summary>
    public static double? Read(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]) / 1024.0;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Samples until cancelled or until the process is gone.</summary>
    public async Task RunAsync(CancellationToken cancellation)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (Read(pid) is { } rss)
            {
                last = rss;
                peak = Math.Max(peak, rss);
                samples++;
                await timer.WaitForNextTickAsync(cancellation);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The peak, and the final value read now (the last sample when the process has exited).</summary>
    public MemoryResult Finish()
    {
        last = Read(pid) ?? last;
        return new(pid, Math.Max(peak, last), last, samples);
    }
}

/// <summary>The tables <c>bench load</c> prints; three narrow ones, so they stay readable in an 80-column log.</summary>
static class LoadReport
{
    public static void Print(LoadResult result)
    {
        var rows = result.PerRoute.Append(result.Total).ToArray();
        var title = $"bench load{(result.Label is null ? "" : " " + Markup.Escape(result.Label))}: {result.Rate:0.#} req/s for {result.MeasuredS:0.#} s after {result.WarmupS:0.#} s warm-up";
        AnsiConsole.Write(Table(title, ["sent", "client-dropped", "done/s", "2xx/s", "Retry-After on 429"], rows, r =>
            [$"{r.Sent}", $"{r.Status.ClientDropped}", $"{r.CompletedPerSecond:0.0}", $"{r.OkPerSecond:0.0}", r.RetryAfterOn429]));
        AnsiConsole.Write(Table("status counts", ["2xx", "429", "503", "other 4xx", "5xx", "timeouts", "client errors"], rows, r =>
        [
            $"{r.Status.Ok}", $"{r.Status.TooManyRequests}", $"{r.Status.Unavailable}", $"{r.Status.OtherClientErrors}",
            r.Status.ServerErrors > 0 ? $"[red]{r.Status.ServerErrors}[/]" : "0", $"{r.Status.Timeouts}", $"{r.Status.ClientErrors}",
        ]));
        AnsiConsole.Write(Table("latency (ms): accepted (2xx) p50 p90 p99 max | all responses p50 p90 p99 max",
            ["p50", "p90", "p99", "max", "p50", "p90", "p99", "max"], rows, r =>
            [
                Ms(r.OkLatencyMs.P50), Ms(r.OkLatencyMs.P90), Ms(r.OkLatencyMs.P99), Ms(r.OkLatencyMs.Max),
                Ms(r.AllLatencyMs.P50), Ms(r.AllLatencyMs.P90), Ms(r.AllLatencyMs.P99), Ms(r.AllLatencyMs.Max),
            ]));
        if (result.Memory is { } memory)
            AnsiConsole.MarkupLine($"Server RSS (pid {memory.Pid}): peak {memory.PeakRssMib:0} MiB, final {memory.FinalRssMib:0} MiB ({memory.Samples} samples).");
        AnsiConsole.MarkupLine($"Generator: largest schedule lag {result.MaxScheduleLagMs:0.0} ms; 5xx during warm-up: {result.WarmupServerErrors}.");
    }

    static string Ms(double milliseconds) => milliseconds.ToString(milliseconds >= 100 ? "0" : "0.0");

    static Table Table(string title, string[] columns, RouteResult[] rows, Func<RouteResult, string[]> cells)
    {
        var table = new Table().Title(title).AddColumn(new TableColumn("route").NoWrap());
        foreach (var column in columns)
            table.AddColumn(new TableColumn(column).RightAligned());
        foreach (var row in rows)
            table.AddRow([row.Route, .. cells(row)]);
        return table;
    }
}
