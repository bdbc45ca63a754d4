using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Service.Models.Lm;

/// <summary>A small GPT's shape: vocabulary V, window W, L pre-norm blocks of H heads over width D.</summary>
/// <param name="Rotary">Rotary positions (RoFormer, Su et al. 2021) on the queries and keys instead of learned absolute position embeddings.</param>
public sealed record CausalLmConfig(int Vocabulary, int Window = 128, int Layers = 4, int Heads = 4, int Width = 192, double Dropout = 0, bool Rotary = false)
{
    public void Validate()
    {
        if (Vocabulary < 2 || Window < 2 || Layers < 1 || Heads < 1 || Width % Heads != 0 || (Rotary && Width / Heads % 2 != 0))
            throw new ArgumentException($"Invalid language-model shape {this}: the width must split evenly over the heads (into an even head width for rotary positions).");
    }
}

/// <summary>
/// A decoder-only transformer as nanoGPT builds one (Radford et al. 2019): token and learned position embeddings (or
/// rotary positions in the attention), L pre-norm blocks x + Attn(LN x), x + MLP(LN x), a final LayerNorm and a head
/// tied to the token embedding. The
/// attention mask is an argument, so the same weights run causally (GPT), with a bidirectional prefix (UniLM) or fully
/// bidirectionally (<see cref="AttentionMasks"/>).
/// </summary>
/// <remarks>
/// <code>
/// ids     // [B, T] token ids, T ≤ W
/// x       // [B, T, D] the residual stream
/// mask    // [T, T] additive: 0 where query i may attend to key j, −∞ where not
/// logits  // [B, T, V]
/// </code>
/// </remarks>
public sealed class CausalLm : Module<Tensor, Tensor, Tensor>
{
    readonly Embedding token;
    readonly Embedding? position;
    readonly ModuleList<LmBlock> blocks;
    readonly LayerNorm final;

    public CausalLm(CausalLmConfig config) : base(nameof(CausalLm))
    {
        config.Validate();
        Config = config;
        token = Embedding(config.Vocabulary, config.Width);
        position = config.Rotary ? null : Embedding(config.Window, config.Width);
        blocks = new ModuleList<LmBlock>([.. Enumerable.Range(0, config.Layers).Select(i => new LmBlock($"block{i}", config))]);
        final = LayerNorm(config.Width);
        using (no_grad())
        {
            init.normal_(token.weight!, 0, 0.02);
            if (position is not null)
                init.normal_(position.weight!, 0, 0.02);
        }
        RegisterComponents();
    }

    public CausalLmConfig Config { get; }

    /// <summary>Logits of the next token at every position; <paramref name="mask"/> [T, T] from <see cref="AttentionMasks"/>.</summary>
    public override Tensor forward(Tensor ids, Tensor mask) => Run(ids, mask, null);

    /// <summary>As <see cref="forward"/>, also collecting each layer's attention probabilities [B, H, T, T] into <paramref name="attention"/>.</summary>
    public Tensor Run(Tensor ids, Tensor mask, List<Tensor>? attention)
    {
        using var scope = NewDisposeScope();
        var length = ids.shape[1];
        if (length > Config.Window)
            throw new ArgumentException($"{length} tokens exceed the window of {Config.Window}.", nameof(ids));
        var x = token.forward(ids); // [B, T, D]
        var rotary = Config.Rotary ? RotaryPositions.Angles(length, Config.Width / Config.Heads, ids.device) : default((Tensor, Tensor)?);
        if (position is not null)
            x = x + position.forward(arange(length, device: ids.device));
        foreach (var block in blocks)
            x = block.Run(x, mask, attention, rotary);
        var logits = functional.linear(final.forward(x), token.weight!); // [B, T, V], head tied to the embedding
        attention?.ForEach(a => a.MoveToOuterDisposeScope());
        return logits.MoveToOuterDisposeScope();
    }
}

/// <summary>One pre-norm block: x + Attn(LN x), then x + MLP(LN x) with a 4D GELU hidden layer.</summary>
public sealed class LmBlock : Module<Tensor, Tensor, Tensor>
{
    readonly LayerNorm norm1;
    readonly Linear qkv;
    readonly Linear proj;
    readonly LayerNorm norm2;
    readonly Linear up;
    readonly Linear down;
    readonly Dropout dropout;
    readonly int heads;

    public LmBlock(string name, CausalLmConfig config) : base(name)
    {
        heads = config.Heads;
        norm1 = LayerNorm(config.Width);
        qkv = Linear(config.Width, 3 * config.Width);
        proj = Linear(config.Width, config.Width);
        norm2 = LayerNorm(config.Width);
        up = Linear(config.Width, 4 * config.Width);
        down = Linear(4 * config.Width, config.Width);
        dropout = Dropout(config.Dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor mask) => Run(x, mask, null, null);

    /// <param name="x">[B, T, D]</param>
    /// <param name="mask">[T, T] additive.</param>
    /// <param name="attention">Receives this block's attention probabilities [B, H, T, T] when not null.</param>
    /// <param name="rotary">cos and sin [T, D/H] of <see cref="RotaryPositions.Angles"/>, for rotary models.</param>
    public Tensor Run(Tensor x, Tensor mask, List<Tensor>? attention, (Tensor Cos, Tensor Sin)? rotary)
    {
        using var scope = NewDisposeScope();
        var (batch, length, width) = (x.shape[0], x.shape[1], x.shape[2]);
        var headWidth = width / heads;
        var parts = qkv.forward(norm1.forward(x)).split(width, 2); // 3 × [B, T, D]
        Tensor Heads(Tensor t) => t.view(batch, length, heads, headWidth).transpose(1, 2); // [B, H, T, D/H]
        var (q, k, v) = (Heads(parts[0]), Heads(parts[1]), Heads(parts[2]));
        if (rotary is var (cos, sin))
            (q, k) = (RotaryPositions.Rotate(q, cos, sin), RotaryPositions.Rotate(k, cos, sin));
        var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(headWidth) + mask; // [B, H, T, T]
        var probabilities = functional.softmax(scores, -1);
        if (attention is not null)
            attention.Add(probabilities.detach().MoveToOuterDisposeScope());
        var mixed = dropout.forward(probabilities).matmul(v).transpose(1, 2).contiguous().view(batch, length, width); // [B, T, D]
        x = x + dropout.forward(proj.forward(mixed));
        x = x + dropout.forward(down.forward(functional.gelu(up.forward(norm2.forward(x)))));
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>Additive attention masks [T, T]: 0 where query i may attend to key j, −∞ where it may not.</summary>
public static class AttentionMasks
{
    /// <summary>GPT: each position sees itself and the past (j ≤ i); the matrix is lower triangular.</summary>
    public static Tensor Causal(long length, Device? device = null) =>
        full(length, length, double.NegativeInfinity, device: device).triu(1);

    /// <summary>UniLM's prefix LM: the first <paramref name="prefix"/> positions see each other in both directions, the rest causally.</summary>
    public static Tensor PrefixBidirectional(long length, long prefix, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var mask = Causal(length, device);
        mask[TensorIndex.Slice(0, prefix), TensorIndex.Slice(0, prefix)] = zeros(prefix, prefix, device: device);
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>Every position sees every other (BERT).</summary>
    public static Tensor Bidirectional(long length, Device? device = null) => zeros(length, length, device: device);
}

/// <summary>
/// Rotary position embedding (RoFormer, Su et al. 2021, eq. 34), in the rotate-half layout: the query and key of a head
/// at position p are rotated pair-wise by angles p·θ_i, so q_p·k_r depends on p − r alone, and a head that looks a
/// fixed number of tokens back (what copying from a demonstration needs) is easy to learn.
/// </summary>
/// <remarks>
/// <code>
/// θ_i = 10000^(−2i/d), i = 0..d/2−1        d: the head width
/// cos, sin    // [T, d]: cos(p·θ), sin(p·θ), the d/2 angles repeated twice
/// x           // [B, H, T, d] = [x₁ | x₂] in halves;  rotate(x) = x · cos + [−x₂ | x₁] · sin
/// </code>
/// </remarks>
public static class RotaryPositions
{
    public static (Tensor Cos, Tensor Sin) Angles(long length, int headWidth, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var theta = pow(10000.0, arange(0, headWidth, 2, ScalarType.Float32, device) / -headWidth); // [d/2]
        var angles = arange(length, ScalarType.Float32, device).unsqueeze(1) * theta.unsqueeze(0); // [T, d/2]
        var both = cat([angles, angles], 1); // [T, d]
        return (both.cos().MoveToOuterDisposeScope(), both.sin().MoveToOuterDisposeScope());
    }

    public static Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var half = x.shape[^1] / 2;
        var rotated = cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1); // [−x₂ | x₁]
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }
}
