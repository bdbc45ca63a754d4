using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Service.Models.Diffusion.Unet;

/// <summary>Sinusoidal embedding of the timestep n (Vaswani et al.; DDPM), dim = 2·half: [sin(n ω_k), cos(n ω_k)], ω_k = 10000^(−k/half).</summary>
public static class TimestepEmbedding
{
    public static Tensor Sinusoidal(Tensor n, int dim)
    {
        var half = dim / 2;
        using var scope = NewDisposeScope();
        var k = arange(half, dtype: ScalarType.Float32, device: n.device);
        var omega = exp(k * (-Math.Log(10000.0) / half));
        var args = n.to_type(ScalarType.Float32).unsqueeze(1) * omega.unsqueeze(0);
        return cat([sin(args), cos(args)], 1).MoveToOuterDisposeScope();
    }
}

/// <summary>Residual block: GroupNorm → SiLU → 3×3 conv, + projected time embedding, GroupNorm → SiLU → zero-init 3×3 conv, + (1×1 conv) skip.</summary>
public sealed class ResidualBlock : Module<Tensor, Tensor, Tensor>
{
    readonly GroupNormalization norm1;
    readonly Conv2d conv1;
    readonly Linear time_proj;
    readonly GroupNormalization norm2;
    readonly Conv2d conv2;
    readonly Module<Tensor, Tensor> skip;

    public ResidualBlock(string name, int inChannels, int outChannels, int timeDim, int groups) : base(name)
    {
        norm1 = new GroupNormalization(groups, inChannels);
        conv1 = Conv2d(inChannels, outChannels, 3, padding: 1);
        time_proj = Linear(timeDim, outChannels);
        norm2 = new GroupNormalization(groups, outChannels);
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1);
        skip = inChannels == outChannels ? Identity() : Conv2d(inChannels, outChannels, 1);
        using (no_grad())
        {
            init.zeros_(conv2.weight);
            init.zeros_(conv2.bias);
        }
        RegisterComponents();
    }

    /// <param name="x">[B, C_in, H, W]</param>
    /// <param name="time">[B, timeDim], the output of the time MLP.</param>
    public override Tensor forward(Tensor x, Tensor time)
    {
        using var scope = NewDisposeScope();
        var h = conv1.forward(functional.silu(norm1.forward(x)));
        h = h + time_proj.forward(functional.silu(time)).unsqueeze(-1).unsqueeze(-1);
        h = conv2.forward(functional.silu(norm2.forward(h)));
        return (skip.forward(x) + h).MoveToOuterDisposeScope();
    }
}

/// <summary>Single-head self-attention over the H·W positions, with a zero-initialised output projection and a residual.</summary>
public sealed class AttentionBlock : Module<Tensor, Tensor>
{
    readonly GroupNormalization norm;
    readonly Conv2d qkv;
    readonly Conv2d proj;
    readonly int channels;

    public AttentionBlock(string name, int channels, int groups) : base(name)
    {
        this.channels = channels;
        norm = new GroupNormalization(groups, channels);
        qkv = Conv2d(channels, 3 * channels, 1);
        proj = Conv2d(channels, channels, 1);
        using (no_grad())
        {
            init.zeros_(proj.weight);
            init.zeros_(proj.bias);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (b, h, w) = (x.shape[0], x.shape[2], x.shape[3]);
        var parts = qkv.forward(norm.forward(x)).reshape(b, 3, channels, h * w).unbind(1); // each [B, C, HW]
        var q = parts[0].transpose(1, 2);                                                   // [B, HW, C]
        var weights = functional.softmax(matmul(q, parts[1]) * (1.0 / Math.Sqrt(channels)), -1); // [B, HW, HW]
        var attended = matmul(parts[2], weights.transpose(1, 2)).reshape(b, channels, h, w);
        return (x + proj.forward(attended)).MoveToOuterDisposeScope();
    }
}

/// <summary>Halves the resolution with a stride-2 3×3 conv (28 → 14 → 7).</summary>
public sealed class Downsample : Module<Tensor, Tensor>
{
    readonly Conv2d conv;

    public Downsample(string name, int channels) : base(name)
    {
        conv = Conv2d(channels, channels, 3, stride: 2, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => conv.forward(x);
}

/// <summary>Doubles the resolution: nearest-neighbour ×2, then a 3×3 conv.</summary>
public sealed class Upsample : Module<Tensor, Tensor>
{
    readonly Conv2d conv;

    public Upsample(string name, int channels) : base(name)
    {
        conv = Conv2d(channels, channels, 3, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var up = functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        return conv.forward(up);
    }
}
