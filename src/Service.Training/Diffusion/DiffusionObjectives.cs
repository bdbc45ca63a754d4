using Service.Models.Diffusion;
using Service.Models.Diffusion.Unet;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Training.Diffusion;

/// <summary>
/// Training losses. One draw per example: n ~ U{1..N}, ε ~ N(0, I), x_n = √ᾱ_n x₀ + √β̄_n ε (q(x_n | x₀)).
/// ε̂ loss: ‖ε − ε̂(x_n, n)‖² (DDPM "simple" loss, mean over pixels and batch). Head losses, backbone frozen
/// (run under no_grad): SN ‖ε² − h(x_n)‖², NPR ‖stopgrad(ε − ε̂)² − g(x_n)‖².
/// </summary>
public sealed class DiffusionObjectives : IDisposable
{
    readonly Tensor sqrtAlphaBar; // [N + 1], √ᾱ_n
    readonly Tensor sqrtBetaBar;  // [N + 1], √β̄_n

    public DiffusionObjectives(NoiseSchedule schedule)
    {
        Schedule = schedule;
        var n = schedule.Steps;
        sqrtAlphaBar = tensor(Enumerable.Range(0, n + 1).Select(i => (float)Math.Sqrt(schedule.AlphaBar(i))).ToArray());
        sqrtBetaBar = tensor(Enumerable.Range(0, n + 1).Select(i => (float)Math.Sqrt(schedule.BetaBar(i))).ToArray());
    }

    public NoiseSchedule Schedule { get; }

    /// <summary>Draws n, ε and x_n for the batch x₀ [B, C, H, W] from <paramref name="generator"/>.</summary>
    public (Tensor N, Tensor Epsilon, Tensor Xn) Diffuse(Tensor x0, Generator? generator)
    {
        using var scope = NewDisposeScope();
        var n = randint(1, Schedule.Steps + 1, [x0.shape[0]], dtype: ScalarType.Int64, generator: generator);
        var epsilon = randn(x0.shape, dtype: x0.dtype, generator: generator);
        var xn = sqrtAlphaBar.index_select(0, n).view(-1, 1, 1, 1) * x0 + sqrtBetaBar.index_select(0, n).view(-1, 1, 1, 1) * epsilon;
        return (n.MoveToOuterDisposeScope(), epsilon.MoveToOuterDisposeScope(), xn.MoveToOuterDisposeScope());
    }

    /// <summary>‖ε − ε̂(x_n, n)‖², with gradients into the backbone.</summary>
    public Tensor EpsilonLoss(DiffusionUnet model, Tensor x0, Generator? generator)
    {
        using var scope = NewDisposeScope();
        var (n, epsilon, xn) = Diffuse(x0, generator);
        var (prediction, _) = model.Backbone.forward(xn, n);
        return nn.functional.mse_loss(prediction, epsilon).MoveToOuterDisposeScope();
    }

    /// <summary>The head's loss with the backbone frozen (no graph through it): SN target ε², NPR target (ε − ε̂)².</summary>
    public Tensor HeadLoss(DiffusionUnet model, CovarianceHead kind, Tensor x0, Generator? generator)
    {
        if (kind == CovarianceHead.None)
            throw new ArgumentException("A head loss needs kind Sn or Npr.", nameof(kind));
        using var scope = NewDisposeScope();
        var (n, epsilon, xn) = Diffuse(x0, generator);
        Tensor features, target;
        using (no_grad())
        {
            var (prediction, f) = model.Backbone.forward(xn, n);
            features = f;
            target = kind == CovarianceHead.Sn ? epsilon.square() : (epsilon - prediction).square();
        }
        var output = model.Head.forward(features);
        return nn.functional.mse_loss(output, target).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        sqrtAlphaBar.Dispose();
        sqrtBetaBar.Dispose();
    }
}

/// <summary>
/// One throwaway forward + backward through a fresh network of the given shape, before real training.
/// </summary>
/// <remarks>
/// On this host (TorchSharp 0.107, libtorch CPU) the very first backward pass of a process has produced a few NaN
/// input-gradients in the 1-output-channel output conv, after which every later pass was finite; warming up on a
/// throwaway network keeps that first pass away from the trained weights. The training loop additionally skips any
/// step whose gradient norm is not finite.
/// </remarks>
public static class BackwardWarmUp
{
    public static void Run(UnetConfig config, int batchSize)
    {
        using var scope = NewDisposeScope();
        using var network = new DiffusionUnet(config);
        for (var i = 0; i < 2; i++)
        {
            var x = randn(batchSize, config.ImageChannels, config.ImageSize, config.ImageSize);
            var (epsilon, head) = network.forward(x, full([batchSize], 500L, ScalarType.Int64));
            (epsilon.square().mean() + head.square().mean()).backward();
        }
    }
}
