#!/usr/bin/env -S dotnet run
// Γ_n at a few timesteps for several backbones on the same images and noise (issue 19: why the EMA backbone's Γ_n
// exceeds 1 at large n). Usage, from the repository root: dotnet run scripts/diffusion-gamma-check.cs -- <unet.pt>...
// (each with its .json sidecar beside it); M = 200 training images (seed 5), one fresh ε per image and n, one thread.
#:project ../src/Service.Training/Service.Training.csproj
#:property PublishAot=false
#:property JsonSerializerIsReflectionEnabledByDefault=true
using Service.Models.Diffusion;
using Service.Models.Diffusion.Unet;
using Service.Models.Torch;
using Service.Training.Diffusion;

TorchRuntime.EnsureInitialized();
TorchSharp.torch.set_num_threads(1);
var train = MnistDataset.LoadPackage(MnistDataset.DefaultPackageDirectory()).Train();
var random = new Random(5);
var rows = Enumerable.Range(0, train.Count).OrderBy(_ => random.Next()).Take(200)
    .SelectMany(i => train.Images.AsSpan(i * MnistDataset.Pixels, MnistDataset.Pixels).ToArray()).ToArray(); // x₀ [M, d]
foreach (var weights in args)
{
    using var network = UnetEpsilonModel.Load(weights);
    foreach (var n in new[] { 1000, 800, 600, 300 })
    {
        var standardError = new double[network.Schedule.Steps + 1];
        var gamma = GammaEstimator.Estimate(network, rows, new Random(n), batchSize: 100, standardError: standardError, firstStep: n, lastStep: n);
        Console.WriteLine($"{weights} n = {n}: Γ_n = {gamma[n]:F4} ± {standardError[n]:F4}");
    }
}
