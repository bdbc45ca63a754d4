using Service.Models.Diffusion;
using Service.Models.Diffusion.Unet;
using Service.Models.Torch;
using static TorchSharp.torch;

namespace Service.Cli.Diffusion;

/// <summary>
/// The backbone with both covariance heads on its shared features, for the likelihood evaluation: one forward pass
/// gives ε̂, the SN head h and the NPR head g, so every variance of a step is scored on the same x_t.
/// </summary>
sealed class UnetWithHeads : IDisposable
{
    readonly UnetBackbone backbone;
    readonly CovarianceHeadNet sn;
    readonly CovarianceHeadNet npr;

    public UnetWithHeads(string backbonePath, string snHeadPath, string nprHeadPath)
    {
        TorchRuntime.EnsureInitialized();
        var sidecar = UnetSidecar.Read(backbonePath);
        Schedule = NoiseSchedule.Create(sidecar.Schedule, sidecar.N);
        backbone = new UnetBackbone(sidecar.Config);
        backbone.load(backbonePath);
        backbone.eval();
        sn = LoadHead(snHeadPath, sidecar.Config);
        npr = LoadHead(nprHeadPath, sidecar.Config);
        Dimension = sidecar.Config.Dimension;
        Config = sidecar.Config;
    }

    CovarianceHeadNet LoadHead(string path, UnetConfig config)
    {
        var head = new CovarianceHeadNet(backbone.FeatureChannels, config.Groups, config.ImageChannels);
        head.load(path);
        head.eval();
        return head;
    }

    public NoiseSchedule Schedule { get; }
    public int Dimension { get; }
    public UnetConfig Config { get; }

    /// <param name="x">x_n [B, d].</param>
    /// <param name="epsilon">ε̂ [B, d].</param>
    /// <param name="h">SN head [B, d].</param>
    /// <param name="g">NPR head [B, d].</param>
    public void Predict(ReadOnlySpan<float> x, int n, Span<float> epsilon, Span<float> h, Span<float> g)
    {
        var batch = x.Length / Dimension;
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var input = empty([batch, Config.ImageChannels, Config.ImageSize, Config.ImageSize], ScalarType.Float32);
        input.data<float>().CopyFrom(x);
        var (eps, features) = backbone.forward(input, full([batch], n, ScalarType.Int64));
        eps.contiguous().data<float>().CopyTo(epsilon);
        sn.forward(features).contiguous().data<float>().CopyTo(h);
        npr.forward(features).contiguous().data<float>().CopyTo(g);
    }

    public void Dispose()
    {
        backbone.Dispose();
        sn.Dispose();
        npr.Dispose();
    }
}
