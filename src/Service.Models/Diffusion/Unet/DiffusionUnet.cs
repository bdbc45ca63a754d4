using TorchSharp;
using static TorchSharp.torch;

namespace Service.Models.Diffusion.Unet;

/// <summary>The backbone and its covariance head: one forward gives ε̂(x_n, n) and the head output, both [B, C, H, W].</summary>
/// <remarks>
/// Backbone and head are saved to separate files (TorchSharp's <c>Module.save</c> format), so one backbone serves
/// the SN and the NPR head. A head that was never trained or loaded outputs exactly 0.
/// </remarks>
public sealed class DiffusionUnet : nn.Module<Tensor, Tensor, (Tensor Epsilon, Tensor Head)>
{
    readonly UnetBackbone backbone;
    readonly CovarianceHeadNet head;

    public DiffusionUnet(UnetConfig config) : base(nameof(DiffusionUnet))
    {
        backbone = new UnetBackbone(config);
        head = new CovarianceHeadNet(backbone.FeatureChannels, config.Groups, config.ImageChannels);
        RegisterComponents();
    }

    public UnetConfig Config => backbone.Config;
    public UnetBackbone Backbone => backbone;
    public CovarianceHeadNet Head => head;

    public override (Tensor Epsilon, Tensor Head) forward(Tensor x, Tensor n)
    {
        using var scope = NewDisposeScope();
        var (epsilon, features) = backbone.forward(x, n);
        var output = head.forward(features);
        return (epsilon.MoveToOuterDisposeScope(), output.MoveToOuterDisposeScope());
    }

    public static long CountParameters(nn.Module module) => module.parameters().Sum(p => p.numel());
}
