using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Service.Index;
using Spectre.Console;

namespace Service.Cli.Benchmarks;

/// <summary>
/// <c>bench cur</c>: the approximate-score step of ANNCUR on a synthetic index — ŝ = c E over N items (E = U R precomputed
/// for the anchor set) and the top-k of ŝ — per query, plus the one-off cost of E and the memory of R and E.
/// R is low-rank plus noise (rank 16, noise 1%), the shape of real cross-encoder score matrices; timing does not depend on the values.
/// </summary>
public static class CurBenchmarkCommand
{
    public static Command Create()
    {
        var items = new Option<int>("--items") { DefaultValueFactory = _ => 1_000_000 };
        var anchorQueries = new Option<int>("--anchor-queries") { Description = "k_q.", DefaultValueFactory = _ => 100 };
        var anchorItems = new Option<int>("--anchor-items") { Description = "k_i.", DefaultValueFactory = _ => 50 };
        var queries = new Option<int>("--queries") { DefaultValueFactory = _ => 50 };
        var k = new Option<int>("--k") { Description = "Items kept for re-ranking (top-k of ŝ).", DefaultValueFactory = _ => 50 };
        var output = new Option<FileInfo?>("--output") { Description = "Write the results as Markdown to this file." };
        var command = new Command("cur", "Time ANNCUR's approximate-score step on a synthetic N × k_q index.") { items, anchorQueries, anchorItems, queries, k, output };
        command.SetAction(parse =>
        {
            Run(parse.GetValue(items), parse.GetValue(anchorQueries), parse.GetValue(anchorItems), parse.GetValue(queries), parse.GetValue(k), parse.GetValue(output));
            return 0;
        });
        return command;
    }

    static void Run(int n, int kq, int ki, int queryCount, int k, FileInfo? output)
    {
        const int rank = 16;
        var random = new Random(1);
        float Normal() => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        var itemFactors = new float[rank * n]; // [rank, N]
        for (var i = 0; i < itemFactors.Length; i++)
            itemFactors[i] = Normal();
        var rows = new float[kq][]; // R [k_q, N]
        for (var q = 0; q < kq; q++)
        {
            var a = Enumerable.Range(0, rank).Select(_ => Normal()).ToArray();
            var row = rows[q] = new float[n];
            for (var j = 0; j < n; j++)
                row[j] = 0.01f * Normal();
            for (var r = 0; r < rank; r++)
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(itemFactors.AsSpan(r * n, n), a[r], row, row);
        }
        var scores = new MatrixRows(rows, n);
        var anchors = Enumerable.Range(0, n).OrderBy(_ => random.Next()).Take(ki).ToArray();
        var build = Stopwatch.StartNew();
        var approximator = new CurApproximator(scores, anchors, PseudoInverse.DefaultRelativeCutoff(kq, ki, ScoreType.Float32));
        build.Stop();

        var approximate = new List<double>();
        var select = new List<double>();
        var sHat = new float[n];
        for (var q = -3; q < queryCount; q++) // three warm-up queries
        {
            var c = anchors.Select(_ => Normal()).ToArray();
            var watch = Stopwatch.StartNew();
            approximator.Approximate(c, sHat);
            var t1 = watch.Elapsed.TotalMilliseconds;
            var top = TopK.Select(sHat, k);
            var t2 = watch.Elapsed.TotalMilliseconds;
            GC.KeepAlive(top);
            if (q < 0)
                continue;
            approximate.Add(t1);
            select.Add(t2 - t1);
        }
        double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        double P95(List<double> v) => BenchmarkReport.Percentile(v, 95);
        var rBytes = (long)kq * n * sizeof(float);
        var eBytes = (long)ki * n * sizeof(float);
        var rss = Process.GetCurrentProcess().WorkingSet64;
        var lines = new[]
        {
            $"N = {n:N0} items, k_q = {kq}, k_i = {ki}, top-{k}, {queryCount} queries, {Environment.ProcessorCount} cores",
            "",
            "| step | median | p95 |",
            "|---|---:|---:|",
            $"| ŝ = c E (k_i × N) | {Median(approximate):F2} ms | {P95(approximate):F2} ms |",
            $"| top-{k} of ŝ | {Median(select):F2} ms | {P95(select):F2} ms |",
            $"| per query, both | {Median(approximate.Zip(select, (a, b) => a + b).ToList()):F2} ms | {P95(approximate.Zip(select, (a, b) => a + b).ToList()):F2} ms |",
            "",
            $"One-off per anchor set: U = pinv(R[:, anchors]) and E = U R in {build.Elapsed.TotalSeconds:F2} s.",
            $"Memory: R (float32) {rBytes / 1048576.0:F0} MiB (float16 on disk: {rBytes / 2 / 1048576.0:F0} MiB), E {eBytes / 1048576.0:F0} MiB, process working set {rss / 1048576.0:F0} MiB.",
        };
        foreach (var line in lines)
            AnsiConsole.WriteLine(line);
        if (output is not null)
            File.WriteAllLines(output.WithFolder().FullName, lines);
    }
}
