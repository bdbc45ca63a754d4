using Service.Models.Text.Adapters;
using Service.Models.Text.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Service.Training;
using Service.Training.Text;

namespace Service.Cli.Text.Training;

/// <summary>How the encoder's weights change during training.</summary>
public enum Adaptation
{
    /// <summary>LoRA adapters U, V on every attention and FFN Linear; W₀ frozen.</summary>
    Lora,
    /// <summary>The same Linear weights trained in full, through random low-rank gradient projections (Flora).</summary>
    LoraOptimizer,
    /// <summary>Every encoder parameter trained with Adam.</summary>
    Full,
    /// <summary>
    /// The 36 attention and FFN Linear weights trained in full with Adam; embeddings, biases and LayerNorms frozen, so
    /// the result is exactly what a dense adapter (<c>P.weight</c> per Linear) can carry to the served ONNX model.
    /// </summary>
    Linears,
}

/// <summary>
/// MiniLM (TorchSharp <see cref="BertEncoder"/>) as a bi-encoder (mean pooling) or a cross-encoder (Linear(hidden → 1)
/// on the [CLS] state of "[CLS] query [SEP] item [SEP]"). Registered names: <c>encoder.*</c> (HuggingFace names) and
/// <c>head.*</c>.
/// </summary>
public sealed class TextModel : nn.Module
{
    readonly BertEncoder encoder;
    readonly Linear head;

    public TextModel(BertEncoder encoder) : base(nameof(TextModel))
    {
        this.encoder = encoder;
        head = nn.Linear(encoder.Config.HiddenSize, 1);
        RegisterComponents();
    }

    public BertEncoder Encoder => encoder;
    public Linear Head => head;

    /// <summary>Mean of the hidden states over real tokens: [B, L] ids → [B, D].</summary>
    public Tensor Embed(BertBatch batch)
    {
        using var scope = NewDisposeScope();
        var hidden = encoder.forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds); // [B, L, D]
        var mask = batch.AttentionMask.to_type(hidden.dtype).unsqueeze(2); // [B, L, 1]
        return (hidden * mask).sum(1).div(mask.sum(1)).MoveToOuterDisposeScope(); // [B, D]
    }

    /// <summary>Raw cross-encoder scores: pairs [B, L] → [B].</summary>
    public Tensor Score(BertBatch pairs)
    {
        using var scope = NewDisposeScope();
        var hidden = encoder.forward(pairs.InputIds, pairs.AttentionMask, pairs.TokenTypeIds); // [B, L, D]
        return head.forward(hidden.select(1, 0)).squeeze(1).MoveToOuterDisposeScope(); // [B]
    }

    /// <summary>Puts a dense cross-encoder adapter (<c>text export</c>) into the Linear weights and the head.</summary>
    public void LoadDense(TextAdapter adapter)
    {
        if (adapter.Info.Kind != TextAdapter.CrossEncoder || adapter.HeadWeight is null)
            throw new ArgumentException($"The adapter is a {adapter.Info.Kind} without a head; --init-adapter takes a dense cross-encoder adapter.");
        var changed = encoder.LoadAdapterLinears(adapter);
        if (changed == 0)
            throw new ArgumentException("The adapter holds no dense Linear weights (a LoRA adapter?); --init-adapter takes `text export` output.");
        using var _ = no_grad();
        head.weight!.copy_(tensor(adapter.HeadWeight, [1, adapter.HeadWeight.Length]));
        head.bias!.copy_(tensor(new[] { adapter.HeadBias }));
    }

    /// <summary>Sets which parameters train; returns them. LoRA wraps the Linears here (adapters by module path).</summary>
    public (List<Parameter> Trained, IReadOnlyDictionary<string, LoraLinear> Adapters) Prepare(Adaptation adaptation, LoraOptions lora)
    {
        IReadOnlyDictionary<string, LoraLinear> adapters = new Dictionary<string, LoraLinear>();
        switch (adaptation)
        {
            case Adaptation.Lora:
                adapters = encoder.InjectLora(lora);
                break;
            case Adaptation.LoraOptimizer or Adaptation.Linears:
                foreach (var p in encoder.parameters())
                    p.requires_grad = false;
                foreach (var (_, _, linear) in encoder.Linears())
                    ((Linear)linear).weight!.requires_grad = true;
                break;
            case Adaptation.Full:
                foreach (var p in encoder.parameters())
                    p.requires_grad = true;
                break;
        }
        foreach (var p in head.parameters())
            p.requires_grad = true;
        return (parameters().Where(p => p.requires_grad).ToList(), adapters);
    }
}
