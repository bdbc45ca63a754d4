using Service.Models.Diffusion.Variances;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Service.Models.Diffusion;
using Service.Models.Diffusion.Serving;
using Service.Models.Diffusion.Unet;
using Service.Models.Torch;
using Spectre.Console;
using static Service.Cli.Benchmarks.BenchmarkReport;
using static TorchSharp.torch;

namespace Service.Cli.Benchmarks;

/// <summary>
/// <c>bench sampling</c>: images per second of the MNIST UNet sampler (Analytic-DDPM, even trajectory) at a few K, one
/// batch of <c>--count</c> images per pass, alternating K across rounds and reporting medians. glibc's malloc settings
/// (MALLOC_MMAP_THRESHOLD_ and friends) are read from the environment and printed, since they change libtorch's speed.
/// </summary>
public static class SamplingBenchmarkCommand
{
    public static Command Create()
    {
        var modelDir = new Option<string>("--model-dir") { DefaultValueFactory = _ => "models/diffusion/mnist-unet" };
        var steps = new Option<string>("--steps") { Description = "Comma-separated K.", DefaultValueFactory = _ => "10,100" };
        var count = new Option<int>("--count") { Description = "Images per pass (one batch).", DefaultValueFactory = _ => 250 };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var output = new Option<FileInfo?>("--output") { Description = "Append the results as Markdown to this file." };
        var command = new Command("sampling", "Images/s of the MNIST UNet sampler (Analytic-DDPM) at several K.") { modelDir, steps, count, rounds, threads, output };
        command.SetAction(parse =>
        {
            var ks = parse.GetValue(steps)!.Split(',').Select(int.Parse).ToArray();
            Run(parse.GetValue(modelDir)!, ks, parse.GetValue(count), parse.GetValue(rounds), parse.GetValue(threads), parse.GetValue(output));
            return 0;
        });
        return command;
    }

    static void Run(string modelDir, int[] ks, int count, int rounds, int threads, FileInfo? output)
    {
        AtenKernels.PinForSampling();
        using var model = UnetEpsilonModel.Load(Path.Combine(modelDir, "unet.pt"));
        set_num_threads(threads);
        var gamma = GammaTable.Read(modelDir).Gamma;
        var d = model.Dimension;
        var x = new float[count * d]; // [B, d]
        var perK = ks.ToDictionary(k => k, _ => new List<double>());
        Pass(2, 1); // warm-up: libtorch's first calls allocate and pick kernels
        for (var round = 0; round < rounds; round++)
        {
            foreach (var k in ks)
                perK[k].Add(Pass(k, round));
        }

        var malloc = string.Join(" ", new[] { "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_" }
            .Select(v => $"{v}={Environment.GetEnvironmentVariable(v) ?? "unset"}"));
        var table = new Table().AddColumns("K", "images/s per round", "median images/s", "median s per image");
        var lines = new List<string>
        {
            $"### `bench sampling` ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {threads} libtorch threads, {malloc}, ATen kernels: {AtenKernels.Status})",
            "",
            $"`service-cli bench sampling --steps {string.Join(',', ks)} --count {count} --rounds {rounds}`: one batch of {count} MNIST images, Analytic-DDPM on the even trajectory.",
            "",
            "| K | images/s per round | median images/s | UNet passes/s (median) |",
            "|---:|---|---:|---:|",
        };
        foreach (var k in ks)
        {
            var median = Median(perK[k]);
            var each = string.Join(", ", perK[k].Select(v => v.ToString("F1", CultureInfo.InvariantCulture)));
            table.AddRow(k.ToString(CultureInfo.InvariantCulture), each, median.ToString("F1", CultureInfo.InvariantCulture), (1 / median).ToString("F4", CultureInfo.InvariantCulture));
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"| {k} | {each} | {median:F1} | {median * k:F0} |"));
        }
        AnsiConsole.MarkupLine(Markup.Escape(malloc));
        AnsiConsole.Write(table);
        if (output is not null)
            File.AppendAllLines(output.WithFolder().FullName, [.. lines, ""]);

        double Pass(int k, int seed)
        {
            var settings = new DiffusionSamplerSettings(Trajectory.Even(model.Schedule.Steps, k), DiffusionProcess.Ddpm, Analytic.Instance, Gamma: gamma, ClipPixels: 2);
            var random = new Random(seed);
            GaussianNoise.Fill(random, x);
            var watch = Stopwatch.StartNew();
            DiffusionSampler.Sample(model, settings, x, x, random);
            return count / watch.Elapsed.TotalSeconds;
        }
    }
}
