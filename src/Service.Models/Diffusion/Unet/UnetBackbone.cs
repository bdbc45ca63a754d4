using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Service.Models.Diffusion.Unet;

/// <summary>
/// ε-prediction UNet (DDPM / diffusers UNet2DModel layout, shrunk for 28×28): a 3×3 input conv; per level one
/// <see cref="ResidualBlock"/> then a stride-2 <see cref="Downsample"/> (self-attention after the block at the lowest
/// level); a middle residual block; the mirror-image decoder, each level one residual block on [up-path, skip]
/// concatenated, then <see cref="Upsample"/>; and GroupNorm → SiLU → 3×3 conv to ε̂. Time n enters every residual
/// block through a sinusoidal embedding (dim C) and an MLP (C → 4C → 4C).
/// </summary>
/// <remarks>
/// <see cref="forward"/> returns ε̂ and the last decoder features (C channels at full resolution, before the output
/// norm), which the covariance head (<see cref="CovarianceHeadNet"/>) reads.
/// </remarks>
public sealed class UnetBackbone : Module<Tensor, Tensor, (Tensor Epsilon, Tensor Features)>
{
    readonly int channels;
    readonly Linear time_in;
    readonly Linear time_out;
    readonly Conv2d conv_in;
    readonly ModuleList<ResidualBlock> down_blocks;
    readonly ModuleList<Module<Tensor, Tensor>> down_samples;
    readonly AttentionBlock attention;
    readonly ResidualBlock mid_block;
    readonly ModuleList<ResidualBlock> up_blocks;
    readonly ModuleList<Module<Tensor, Tensor>> up_samples;
    readonly GroupNormalization norm_out;
    readonly NarrowConv conv_out;

    public UnetBackbone(UnetConfig config) : base(nameof(UnetBackbone))
    {
        config.Validate();
        Config = config;
        channels = config.Channels;
        var timeDim = 4 * channels;
        var levelChannels = config.Multipliers.Select(m => m * channels).ToArray();
        var levels = levelChannels.Length;

        time_in = Linear(channels, timeDim);
        time_out = Linear(timeDim, timeDim);
        conv_in = Conv2d(config.ImageChannels, channels, 3, padding: 1);

        down_blocks = new ModuleList<ResidualBlock>();
        down_samples = new ModuleList<Module<Tensor, Tensor>>();
        var current = channels;
        for (var level = 0; level < levels; level++)
        {
            down_blocks.Add(new ResidualBlock($"down{level}", current, levelChannels[level], timeDim, config.Groups));
            current = levelChannels[level];
            if (level < levels - 1)
                down_samples.Add(new Downsample($"downsample{level}", current));
        }
        attention = new AttentionBlock("attention", current, config.Groups);
        mid_block = new ResidualBlock("mid", current, current, timeDim, config.Groups);

        up_blocks = new ModuleList<ResidualBlock>();
        up_samples = new ModuleList<Module<Tensor, Tensor>>();
        for (var level = levels - 1; level >= 0; level--)
        {
            up_blocks.Add(new ResidualBlock($"up{level}", current + levelChannels[level], levelChannels[level], timeDim, config.Groups));
            current = levelChannels[level];
            if (level > 0)
                up_samples.Add(new Upsample($"upsample{level}", current));
        }
        norm_out = new GroupNormalization(config.Groups, current);
        conv_out = new NarrowConv(current, config.ImageChannels, zeroInit: false);
        FeatureChannels = current;
        RegisterComponents();
    }

    public UnetConfig Config { get; }

    /// <summary>Channels of the features passed to the head (= C).</summary>
    public int FeatureChannels { get; }

    /// <param name="x">x_n, [B, C_img, H, W].</param>
    /// <param name="n">Timesteps n ∈ 1..N, [B] (any numeric dtype).</param>
    public override (Tensor Epsilon, Tensor Features) forward(Tensor x, Tensor n)
    {
        using var scope = NewDisposeScope();
        var time = time_out.forward(functional.silu(time_in.forward(TimestepEmbedding.Sinusoidal(n, channels))));

        var h = conv_in.forward(x);
        var skips = new List<Tensor>();
        for (var level = 0; level < down_blocks.Count; level++)
        {
            h = down_blocks[level].forward(h, time);
            if (level == down_blocks.Count - 1)
                h = attention.forward(h);
            skips.Add(h);
            if (level < down_samples.Count)
                h = down_samples[level].forward(h);
        }
        h = mid_block.forward(h, time);
        for (var i = 0; i < up_blocks.Count; i++)
        {
            h = up_blocks[i].forward(cat([h, skips[^(i + 1)]], 1), time);
            if (i < up_samples.Count)
                h = up_samples[i].forward(h);
        }
        var epsilon = conv_out.forward(functional.silu(norm_out.forward(h)));
        return (epsilon.MoveToOuterDisposeScope(), h.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// Extended-Analytic-DPM covariance head on the backbone's last features: GroupNorm → SiLU → zero-initialised 3×3 conv,
/// one output per pixel. Trained with the backbone frozen; SN: h ≈ E[ε² | x_n], NPR: g ≈ E[(ε − ε̂)² | x_n].
/// </summary>
/// <remarks>
/// The output is left unconstrained (no softplus), so an untrained head outputs exactly 0 and the regression targets
/// are fitted without bias; it can dip slightly below 0 where the target is ≈ 0. The sampler clamps the derived
/// per-pixel Ĉ(x) — (β̄/ᾱ)·g for NPR, (β̄/ᾱ)·(h − ε̂²) for SN — to [0, 1], which also removes negative values.
/// </remarks>
public sealed class CovarianceHeadNet : Module<Tensor, Tensor>
{
    readonly GroupNormalization norm;
    readonly NarrowConv conv;

    public CovarianceHeadNet(int featureChannels, int groups, int outChannels) : base(nameof(CovarianceHeadNet))
    {
        norm = new GroupNormalization(groups, featureChannels);
        conv = new NarrowConv(featureChannels, outChannels, zeroInit: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        return conv.forward(functional.silu(norm.forward(features))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// GroupNorm over [B, C, H, W] written with elementwise ops: y = (x − mean_g)/√(var_g + 1e-5)·γ_c + β_c, statistics per
/// sample and group of C/G channels. Used instead of <c>nn.GroupNorm</c>: with TorchSharp 0.107 (libtorch CPU) on this
/// host, <c>nn.GroupNorm</c> left its affine parameters uninitialised (NaN entries in fresh modules) and its backward
/// produced sporadic NaN gradients; this version has neither problem.
/// </summary>
public sealed class GroupNormalization : Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter bias;
    readonly int groups;

    public GroupNormalization(int groups, int channels) : base(nameof(GroupNormalization))
    {
        if (channels % groups != 0)
            throw new ArgumentException($"{channels} channels do not split into {groups} groups.");
        this.groups = groups;
        weight = new Parameter(ones(channels));
        bias = new Parameter(zeros(channels));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var shape = x.shape;
        var grouped = x.reshape(shape[0], groups, -1);
        var centred = grouped - grouped.mean([2], keepdim: true);
        var variance = centred.square().mean([2], keepdim: true);
        var normed = (centred * rsqrt(variance + 1e-5)).reshape(shape);
        return (normed * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A 3×3, padding-1 conv to very few output channels (the image channels), computed as a conv to at least 8 channels
/// whose extra filters are constant zeros, keeping the first <c>outChannels</c>. Parameters: weight [out, in, 3, 3]
/// and bias [out], as in <c>nn.Conv2d</c> (same state-dict names and shapes).
/// </summary>
/// <remarks>
/// On this host libtorch's CPU conv backward sporadically returns NaN input-gradients when the conv has a single
/// output channel (measured: 2 of 150 backward passes for 32→1 channels at batch 64; 0 of 150 for 32→8 and 32→32).
/// The padded filters avoid that kernel path; outputs and gradients are otherwise those of the narrow conv.
/// </remarks>
public sealed class NarrowConv : Module<Tensor, Tensor>
{
    const int MinimumOutChannels = 8;
    readonly Parameter weight;
    readonly Parameter bias;
    readonly int outChannels;
    readonly int inChannels;

    public NarrowConv(int inChannels, int outChannels, bool zeroInit) : base(nameof(NarrowConv))
    {
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        var bound = 1.0 / Math.Sqrt(inChannels * 9); // nn.Conv2d's default U(−1/√fan_in, 1/√fan_in)
        weight = new Parameter(zeroInit ? zeros(outChannels, inChannels, 3, 3) : empty(outChannels, inChannels, 3, 3).uniform_(-bound, bound));
        bias = new Parameter(zeroInit ? zeros(outChannels) : empty(outChannels).uniform_(-bound, bound));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor w = weight, b = bias;
        var pad = MinimumOutChannels - outChannels;
        if (pad > 0)
        {
            w = cat([weight, zeros(pad, inChannels, 3, 3, dtype: weight.dtype, device: weight.device)], 0);
            b = cat([bias, zeros(pad, dtype: bias.dtype, device: bias.device)], 0);
        }
        var y = functional.conv2d(x, w, b, [1, 1], [1, 1], [1, 1], 1);
        return (pad > 0 ? y.narrow(1, 0, outChannels) : y).MoveToOuterDisposeScope();
    }
}
