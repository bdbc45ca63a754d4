using Service.Models.Text.Adapters;
using Service.Models.Text.Torch;
using Service.Models.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Service.Training;

namespace Service.Training.Text;

/// <summary>The Linear layers of a BERT layer that LoRA can wrap (HuggingFace module names in brackets).</summary>
[Flags]
public enum BertLinearTargets
{
    None = 0,
    /// <summary>[attention.self.query]</summary>
    Query = 1,
    /// <summary>[attention.self.key]</summary>
    Key = 2,
    /// <summary>[attention.self.value]</summary>
    Value = 4,
    /// <summary>[attention.output.dense]</summary>
    AttentionOutput = 8,
    /// <summary>[intermediate.dense]</summary>
    Intermediate = 16,
    /// <summary>[output.dense]</summary>
    Output = 32,
    Attention = Query | Key | Value | AttentionOutput,
    FeedForward = Intermediate | Output,
    All = Attention | FeedForward,
}

/// <summary>A module holding Linear layers under fixed names, each replaceable in place (same name, same order).</summary>
interface ILinearSlots
{
    IEnumerable<(string Name, BertLinearTargets Target)> Slots { get; }
    nn.Module<Tensor, Tensor> GetLinear(string name);
    void SetLinear(string name, nn.Module<Tensor, Tensor> replacement);
}

/// <summary>
/// A BERT encoder (HuggingFace <c>BertModel</c> without the pooler) in TorchSharp. Sub-modules carry HuggingFace's
/// names, so <c>named_parameters()</c> yields <c>embeddings.word_embeddings.weight</c>,
/// <c>encoder.layer.0.attention.self.query.weight</c>, … exactly as <see cref="BertConfig.ExpectedParameters"/>.
/// forward(input_ids [B, L] int64, attention_mask [B, L] (1 = token, 0 = padding), token_type_ids [B, L] int64)
/// → last_hidden_state [B, L, hidden].
/// </summary>
public sealed class BertEncoder : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <summary>
    /// Added to attention scores at padded keys: the value the all-MiniLM-L6-v2 export bakes in
    /// (<c>(1 − mask) · −10000</c>, as older HuggingFace versions wrote it); after softmax's max-shift, exp of it is
    /// exactly 0 in float32, as −∞ would give.
    /// </summary>
    public const float MaskedScore = -10000f;

    readonly BertEmbeddings embeddings;
    readonly BertLayerStack encoder;

    public BertEncoder(BertConfig config) : base(Initialized(nameof(BertEncoder)))
    {
        config.Validate();
        Config = config;
        embeddings = new BertEmbeddings(config);
        encoder = new BertLayerStack(config);
        RegisterComponents();
    }

    public BertConfig Config { get; }

    // The base constructor already creates a native module, so TorchSharp must be loaded (and patched) before it runs.
    static string Initialized(string name)
    {
        TorchRuntime.EnsureInitialized();
        return name;
    }

    /// <summary>Reads a PyTorch-exported BERT ONNX file and loads every encoder parameter from it; the result is in eval mode.</summary>
    public static BertEncoder FromOnnx(string modelPath, BertConfig? config = null) =>
        FromOnnx(OnnxBertWeights.Map(OnnxGraph.Read(modelPath)), config);

    /// <summary>Builds an encoder from already mapped weights (e.g. to keep the graph for ONNX Runtime overrides); eval mode.</summary>
    public static BertEncoder FromOnnx(OnnxBertWeights weights, BertConfig? config = null)
    {
        var encoder = new BertEncoder(config ?? BertConfig.MiniLmL6);
        try
        {
            encoder.Load(weights);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
        encoder.eval();
        return encoder;
    }

    /// <summary>Copies every parameter from <paramref name="weights"/>; a missing name or a shape mismatch throws.</summary>
    public void Load(OnnxBertWeights weights)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith(".lora_U", StringComparison.Ordinal) || name.EndsWith(".lora_V", StringComparison.Ordinal))
                continue;
            var (data, shape) = weights.Get(name);
            if (!shape.SequenceEqual(parameter.shape))
                throw new InvalidDataException($"'{name}' is [{string.Join(", ", shape)}] in the ONNX file, [{string.Join(", ", parameter.shape)}] in the encoder.");
            parameter.copy_(tensor(data, shape));
        }
    }

    /// <summary>Token types default to all 0 (one segment).</summary>
    public Tensor forward(Tensor inputIds, Tensor attentionMask) => forward(inputIds, attentionMask, zeros_like(inputIds));

    public override Tensor forward(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds)
    {
        using var scope = NewDisposeScope();
        // [B, L] → [B, 1, 1, L], broadcast over heads and query positions.
        var additiveMask = (1.0f - attentionMask.to_type(ScalarType.Float32)).mul(MaskedScore).unsqueeze(1).unsqueeze(1);
        var hidden = embeddings.forward(inputIds, tokenTypeIds);
        return encoder.forward(hidden, additiveMask).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One pass with an additive attention mask of any shape that broadcasts to [B, heads, L, L] (e.g. a causal [L, L]
    /// one), collecting every layer's attention probabilities [B, heads, L, L] into <paramref name="attention"/>; they
    /// belong to no dispose scope, so the caller disposes them.
    /// </summary>
    public Tensor Attend(Tensor inputIds, Tensor additiveMask, List<Tensor> attention)
    {
        using var scope = NewDisposeScope();
        foreach (var self in encoder.SelfAttentions())
            self.Capture = attention;
        try
        {
            var hidden = embeddings.forward(inputIds, zeros_like(inputIds));
            return encoder.forward(hidden, additiveMask).MoveToOuterDisposeScope();
        }
        finally
        {
            foreach (var self in encoder.SelfAttentions())
                self.Capture = null;
        }
    }

    /// <summary>The Linear layers LoRA may wrap, by HuggingFace module path (e.g. <c>encoder.layer.3.intermediate.dense</c>).</summary>
    public IEnumerable<(string Path, BertLinearTargets Target, nn.Module<Tensor, Tensor> Linear)> Linears() =>
        from host in encoder.SlotHosts()
        from slot in host.Host.Slots
        select ($"{host.Path}.{slot.Name}", slot.Target, host.Host.GetLinear(slot.Name));

    /// <summary>
    /// Puts an exported adapter's Linear weights into place: dense <c>P.weight</c> replacements as they are, int8 deltas
    /// merged onto the current weight (which must be W₀) by <see cref="TextAdapter.DeltaMerged"/>, the very values ONNX Runtime gets.
    /// </summary>
    /// <returns>How many Linear layers changed.</returns>
    public int LoadAdapterLinears(TextAdapter adapter)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var changed = 0;
        foreach (var (path, _, module) in Linears())
        {
            var weight = ((Linear)module).weight!;
            var data = adapter.Tensors.TryGetValue(path + ".weight", out var dense)
                ? dense.Data
                : adapter.DeltaMerged(path, weight.detach().contiguous().data<float>().ToArray());
            if (data is null)
                continue;
            weight.copy_(tensor(data, weight.shape));
            changed++;
        }
        return changed;
    }

    /// <summary>
    /// Freezes every encoder parameter and wraps the <paramref name="targets"/> Linear layers of every layer in
    /// <see cref="LoraLinear"/> (W₀ and bias shared, frozen; U zero, V random). Parameter names of W₀ and bias do
    /// not change; the adapters appear as <c>…query.lora_U</c> / <c>…query.lora_V</c>.
    /// </summary>
    /// <returns>The adapters by module path.</returns>
    public IReadOnlyDictionary<string, LoraLinear> InjectLora(LoraOptions options, BertLinearTargets targets = BertLinearTargets.All)
    {
        var chosen = (
            from host in encoder.SlotHosts()
            from slot in host.Host.Slots
            where (targets & slot.Target) != 0
            select (Path: $"{host.Path}.{slot.Name}", host.Host, slot.Name, Linear: host.Host.GetLinear(slot.Name) switch
            {
                Linear linear => linear,
                LoraLinear => throw new InvalidOperationException($"{host.Path}.{slot.Name} already has a LoRA adapter."),
                var other => throw new InvalidOperationException($"{host.Path}.{slot.Name} is a {other.GetType().Name}, not a Linear."),
            })).ToList(); // all checked before anything changes
        if (chosen.FirstOrDefault(c => options.Rank <= 0 || options.Rank > Math.Min(c.Linear.in_features, c.Linear.out_features)) is { Linear: not null } tooSmall)
            throw new ArgumentOutOfRangeException(nameof(options), $"rank {options.Rank} does not fit {tooSmall.Path} [{tooSmall.Linear.out_features} × {tooSmall.Linear.in_features}].");

        foreach (var parameter in parameters())
            parameter.requires_grad = false;
        using var generator = new Generator((ulong)options.Seed);
        var adapters = new Dictionary<string, LoraLinear>(StringComparer.Ordinal);
        foreach (var (path, host, name, linear) in chosen)
        {
            var adapter = new LoraLinear(linear, options, generator);
            host.SetLinear(name, adapter);
            adapters.Add(path, adapter);
        }
        return adapters;
    }
}

/// <summary>HuggingFace <c>BertEmbeddings</c>: LayerNorm(word[ids] + position[0..L) + token_type[types]), then dropout.</summary>
public sealed class BertEmbeddings : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Embedding word_embeddings;
    readonly Embedding position_embeddings;
    readonly Embedding token_type_embeddings;
    readonly LayerNorm LayerNorm;
    readonly Dropout dropout;

    public BertEmbeddings(BertConfig config) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize);
        position_embeddings = nn.Embedding(config.MaxPositions, config.HiddenSize);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputIds, Tensor tokenTypeIds)
    {
        using var scope = NewDisposeScope();
        var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        var sum = word_embeddings.forward(inputIds) + token_type_embeddings.forward(tokenTypeIds) + position_embeddings.forward(positions);
        return dropout.forward(LayerNorm.forward(sum)).MoveToOuterDisposeScope();
    }
}

/// <summary>HuggingFace <c>BertEncoder</c>: the stack <c>layer.0 … layer.{N−1}</c>.</summary>
public sealed class BertLayerStack : nn.Module<Tensor, Tensor, Tensor>
{
    readonly ModuleList<BertLayer> layer;

    public BertLayerStack(BertConfig config) : base(nameof(BertLayerStack))
    {
        layer = new ModuleList<BertLayer>(Enumerable.Range(0, config.Layers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        foreach (var block in layer)
            hidden = block.forward(hidden, additiveMask);
        return hidden.MoveToOuterDisposeScope();
    }

    internal IEnumerable<BertSelfAttention> SelfAttentions() => layer.Select(block => block.SelfAttention);

    internal IEnumerable<(string Path, ILinearSlots Host)> SlotHosts()
    {
        for (var i = 0; i < layer.Count; i++)
        {
            foreach (var (path, host) in layer[i].SlotHosts())
                yield return ($"encoder.layer.{i}.{path}", host);
        }
    }
}

/// <summary>One transformer block: attention → intermediate (GELU) → output, post-LayerNorm as in BERT.</summary>
public sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor>
{
    readonly BertAttention attention;
    readonly BertIntermediate intermediate;
    readonly BertResidualOutput output;

    public BertLayer(BertConfig config) : base(nameof(BertLayer))
    {
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertResidualOutput(config, config.IntermediateSize, BertLinearTargets.Output);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        var attended = attention.forward(hidden, additiveMask);
        return output.forward(intermediate.forward(attended), attended).MoveToOuterDisposeScope();
    }

    internal BertSelfAttention SelfAttention => attention.SelfAttention;

    internal IEnumerable<(string Path, ILinearSlots Host)> SlotHosts() =>
    [
        ("attention.self", attention.SelfAttention),
        ("attention.output", attention.Output),
        ("intermediate", intermediate),
        ("output", output),
    ];
}

/// <summary>HuggingFace <c>BertAttention</c>: <c>self</c> (multi-head attention) then <c>output</c> (dense, dropout, residual LayerNorm).</summary>
public sealed class BertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    readonly BertSelfAttention self;
    readonly BertResidualOutput output;

    public BertAttention(BertConfig config) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(config);
        output = new BertResidualOutput(config, config.HiddenSize, BertLinearTargets.AttentionOutput);
        RegisterComponents();
    }

    internal BertSelfAttention SelfAttention => self;
    internal BertResidualOutput Output => output;

    public override Tensor forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        return output.forward(self.forward(hidden, additiveMask), hidden).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Multi-head scaled dot-product self-attention: softmax(Q Kᵀ / √d_head + mask) V per head, heads concatenated.
/// </summary>
public sealed class BertSelfAttention : nn.Module<Tensor, Tensor, Tensor>, ILinearSlots
{
    nn.Module<Tensor, Tensor> query;
    nn.Module<Tensor, Tensor> key;
    nn.Module<Tensor, Tensor> value;
    readonly Dropout dropout;
    readonly int heads;
    readonly int headSize;

    public BertSelfAttention(BertConfig config) : base(nameof(BertSelfAttention))
    {
        heads = config.Heads;
        headSize = config.HeadSize;
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(config.HiddenSize, config.HiddenSize);
        value = nn.Linear(config.HiddenSize, config.HiddenSize);
        dropout = nn.Dropout(config.AttentionDropout);
        RegisterComponents();
    }

    /// <summary>When set, each forward adds its attention probabilities [B, heads, L, L] here (<see cref="BertEncoder.Attend"/>).</summary>
    internal List<Tensor>? Capture { get; set; }

    /// <param name="hidden">[B, L, H]</param>
    /// <param name="additiveMask">[B, 1, 1, L]: 0 at tokens, <see cref="BertEncoder.MaskedScore"/> at padding.</param>
    public override Tensor forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        long batch = hidden.shape[0], length = hidden.shape[1];
        Tensor SplitHeads(Tensor x) => x.view(batch, length, heads, headSize).transpose(1, 2); // [B, heads, L, d]

        var q = SplitHeads(query.forward(hidden));
        var k = SplitHeads(key.forward(hidden));
        var v = SplitHeads(value.forward(hidden));
        var scores = q.matmul(k.transpose(-1, -2)).div(Math.Sqrt(headSize)) + additiveMask; // [B, heads, L, L]
        var softmax = nn.functional.softmax(scores, -1);
        Capture?.Add(softmax.detach().DetachFromDisposeScope()); // outlives the nested scopes; Attend's caller disposes it
        var probabilities = dropout.forward(softmax);
        var context = probabilities.matmul(v).transpose(1, 2).reshape(batch, length, heads * headSize);
        return context.MoveToOuterDisposeScope();
    }

    IEnumerable<(string, BertLinearTargets)> ILinearSlots.Slots =>
        [("query", BertLinearTargets.Query), ("key", BertLinearTargets.Key), ("value", BertLinearTargets.Value)];

    nn.Module<Tensor, Tensor> ILinearSlots.GetLinear(string name) => name switch
    {
        "query" => query,
        "key" => key,
        "value" => value,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    void ILinearSlots.SetLinear(string name, nn.Module<Tensor, Tensor> replacement)
    {
        switch (name)
        {
            case "query": query = replacement; break;
            case "key": key = replacement; break;
            case "value": value = replacement; break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }
        _internal_submodules[name] = replacement; // in place: keeps the name and the parameter order
    }
}

/// <summary>HuggingFace <c>BertSelfOutput</c> / <c>BertOutput</c>: LayerNorm(dropout(dense(x)) + residual).</summary>
public sealed class BertResidualOutput : nn.Module<Tensor, Tensor, Tensor>, ILinearSlots
{
    nn.Module<Tensor, Tensor> dense;
    readonly LayerNorm LayerNorm;
    readonly Dropout dropout;
    readonly BertLinearTargets target;

    public BertResidualOutput(BertConfig config, int inputSize, BertLinearTargets target) : base(nameof(BertResidualOutput))
    {
        this.target = target;
        dense = nn.Linear(inputSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input, Tensor residual)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.forward(dropout.forward(dense.forward(input)) + residual).MoveToOuterDisposeScope();
    }

    IEnumerable<(string, BertLinearTargets)> ILinearSlots.Slots => [("dense", target)];

    nn.Module<Tensor, Tensor> ILinearSlots.GetLinear(string name) =>
        name == "dense" ? dense : throw new ArgumentOutOfRangeException(nameof(name), name, null);

    void ILinearSlots.SetLinear(string name, nn.Module<Tensor, Tensor> replacement)
    {
        if (name != "dense")
            throw new ArgumentOutOfRangeException(nameof(name), name, null);
        dense = replacement;
        _internal_submodules[name] = replacement;
    }
}

/// <summary>HuggingFace <c>BertIntermediate</c>: GELU(dense(x)), exact erf GELU: x · ½(1 + erf(x/√2)).</summary>
public sealed class BertIntermediate : nn.Module<Tensor, Tensor>, ILinearSlots
{
    nn.Module<Tensor, Tensor> dense;

    public BertIntermediate(BertConfig config) : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return nn.functional.gelu(dense.forward(hidden)).MoveToOuterDisposeScope();
    }

    IEnumerable<(string, BertLinearTargets)> ILinearSlots.Slots => [("dense", BertLinearTargets.Intermediate)];

    nn.Module<Tensor, Tensor> ILinearSlots.GetLinear(string name) =>
        name == "dense" ? dense : throw new ArgumentOutOfRangeException(nameof(name), name, null);

    void ILinearSlots.SetLinear(string name, nn.Module<Tensor, Tensor> replacement)
    {
        if (name != "dense")
            throw new ArgumentOutOfRangeException(nameof(name), name, null);
        dense = replacement;
        _internal_submodules[name] = replacement;
    }
}
