using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Service.Training;

/// <summary>LoRA hyper-parameters: rank r, α (the update is scaled by α/r), dropout on the adapter's input, and the seed of V's initialisation.</summary>
public sealed record LoraOptions
{
    public int Rank { get; init; } = 8;
    public double Alpha { get; init; } = 16;
    public double Dropout { get; init; }
    public long Seed { get; init; }

    public double Scaling => Alpha / Rank;
}

/// <summary>
/// A Linear layer with a low-rank adapter (Hu et al., 2021): y = x (W₀ + (α/r) U V)ᵀ + b, computed as
/// x W₀ᵀ + b + (α/r) (x Vᵀ) Uᵀ without forming the product.
/// </summary>
/// <remarks>
/// <para>W₀ [out, in] and b are the wrapped layer's own parameters (shared, not copied) and are frozen;
/// U [out, r] starts at zero and V [r, in] ~ Uniform(±1/√in) (PEFT's kaiming_uniform(a = √5) for its "A"), so a fresh
/// adapter leaves the layer's output unchanged while ∂L/∂U = (α/r) G Vᵀ is non-zero from the first step
/// (G = ∂L/∂W, the gradient the full weight would get; ∂L/∂V = (α/r) Uᵀ G is zero until U moves).</para>
/// <para>Registered names: <c>weight</c>, <c>bias</c> (as in the Linear it replaces, so state-dict names and ONNX
/// mapping do not change), <c>lora_U</c>, <c>lora_V</c>. Export with <see cref="Merge"/>: W₀ + (α/r) U V, the one
/// matrix an ONNX Runtime session needs (its MatMul initializer is the transpose).</para>
/// </remarks>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter? bias;
    readonly Parameter lora_U;
    readonly Parameter lora_V;
    readonly Dropout lora_dropout;

    /// <param name="generator">Draws V; null uses the global generator.</param>
    public LoraLinear(Linear linear, LoraOptions options, Generator? generator = null) : base(nameof(LoraLinear))
    {
        if (options.Rank <= 0 || options.Rank > Math.Min(linear.in_features, linear.out_features))
            throw new ArgumentOutOfRangeException(nameof(options), $"rank {options.Rank} must lie in 1..min(in, out) = {Math.Min(linear.in_features, linear.out_features)}.");
        Rank = options.Rank;
        Scaling = options.Scaling;
        weight = linear.weight;
        bias = linear.bias;
        weight.requires_grad = false;
        if (bias is not null)
            bias.requires_grad = false;

        using (NewDisposeScope())
        using (no_grad())
        {
            var bound = 1.0 / Math.Sqrt(linear.in_features);
            lora_U = new Parameter(zeros([linear.out_features, Rank], weight.dtype, weight.device));
            lora_V = new Parameter((rand([Rank, linear.in_features], weight.dtype, weight.device, generator: generator) * 2 - 1) * bound);
            lora_U.DetachFromDisposeScope();
            lora_V.DetachFromDisposeScope();
        }
        lora_dropout = nn.Dropout(options.Dropout);
        RegisterComponents();
    }

    public int Rank { get; }

    /// <summary>α / r.</summary>
    public double Scaling { get; }

    /// <summary>Frozen W₀ [out, in].</summary>
    public Parameter BaseWeight => weight;

    public Parameter? Bias => bias;

    /// <summary>U [out, r], zero-initialised.</summary>
    public Parameter U => lora_U;

    /// <summary>V [r, in].</summary>
    public Parameter V => lora_V;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var low = nn.functional.linear(nn.functional.linear(lora_dropout.forward(x), lora_V), lora_U); // (x Vᵀ) Uᵀ
        return (nn.functional.linear(x, weight, bias) + low.mul(Scaling)).MoveToOuterDisposeScope();
    }

    /// <summary>(α/r) U V [out, in]: what the adapter adds to W₀. A new tensor, no grad.</summary>
    public Tensor Delta()
    {
        using var noGrad = no_grad();
        return lora_U.matmul(lora_V).mul_(Scaling);
    }

    /// <summary>W₀ + (α/r) U V [out, in], the weight of an equivalent plain Linear (bias unchanged). A new tensor, no grad.</summary>
    public Tensor Merge()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return weight.add(Delta()).MoveToOuterDisposeScope();
    }
}
