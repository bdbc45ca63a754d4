using Service.Models.Diffusion;
using Service.Models.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Service.Training.Diffusion.Evaluation;

/// <summary>
/// A small MNIST classifier whose penultimate activations are the feature space of the project's FID (the
/// Inception network of the usual FID knows nothing about digits and is not available here):
/// conv 3×3 (1→32) → ReLU → max-pool 2 → conv 3×3 (32→64) → ReLU → max-pool 2 → Linear(64·7·7 → 128) → ReLU
/// (= features) → Linear(128 → 10).
/// </summary>
/// <remarks>Inputs are [B, 1, 28, 28] in [−1, 1], the diffusion model's scale.</remarks>
public sealed class MnistClassifier : Module<Tensor, Tensor>
{
    /// <summary>Width of <see cref="Features"/>.</summary>
    public const int FeatureDimension = 128;

    readonly Conv2d conv1;
    readonly Conv2d conv2;
    readonly Linear fc;
    readonly Linear logits;

    public MnistClassifier() : base(nameof(MnistClassifier))
    {
        conv1 = Conv2d(1, 32, 3, padding: 1);
        conv2 = Conv2d(32, 64, 3, padding: 1);
        fc = Linear(64 * 7 * 7, FeatureDimension);
        logits = Linear(FeatureDimension, 10);
        RegisterComponents();
    }

    /// <summary>[B, 1, 28, 28] → [B, 128].</summary>
    public Tensor Features(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = functional.max_pool2d(functional.relu(conv1.forward(x)), 2); // [B, 32, 14, 14]
        h = functional.max_pool2d(functional.relu(conv2.forward(h)), 2); // [B, 64, 7, 7]
        return functional.relu(fc.forward(h.flatten(1))).MoveToOuterDisposeScope(); // [B, 128]
    }

    /// <summary>[B, 1, 28, 28] → logits [B, 10].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return logits.forward(Features(x)).MoveToOuterDisposeScope();
    }

    /// <summary>Loads weights saved by <c>Module.save</c> and switches to inference.</summary>
    public static MnistClassifier Load(string path)
    {
        TorchRuntime.EnsureInitialized();
        var model = new MnistClassifier();
        model.load(path);
        model.eval();
        foreach (var p in model.parameters())
            p.requires_grad = false;
        return model;
    }

    /// <summary>Features of images [M, 784] in [−1, 1] → [M, 128], in batches, copied out of torch.</summary>
    public float[] ExtractFeatures(ReadOnlySpan<float> images, int batchSize = 500)
    {
        var output = new float[images.Length / Pixels * FeatureDimension];
        InBatches(images, batchSize, (input, start, rows) =>
            Features(input).contiguous().data<float>().CopyTo(output.AsSpan(start * FeatureDimension, rows * FeatureDimension)));
        return output;
    }

    /// <summary>Predicted digits of images [M, 784].</summary>
    public int[] Predict(ReadOnlySpan<float> images, int batchSize = 500)
    {
        var output = new int[images.Length / Pixels];
        InBatches(images, batchSize, (input, start, _) =>
            forward(input).argmax(1).to_type(ScalarType.Int32).contiguous().data<int>().CopyTo(output.AsSpan(start)));
        return output;
    }

    const int Pixels = 28 * 28;

    /// <summary>Runs <paramref name="use"/> on each batch of images as a tensor [rows, 1, 28, 28], under inference mode in its own dispose scope.</summary>
    static void InBatches(ReadOnlySpan<float> images, int batchSize, Action<Tensor, int, int> use)
    {
        var count = images.Length / Pixels;
        for (var start = 0; start < count; start += batchSize)
        {
            var rows = Math.Min(batchSize, count - start);
            using var scope = NewDisposeScope();
            using var mode = inference_mode();
            var input = empty([rows, 1, 28, 28], ScalarType.Float32);
            input.data<float>().CopyFrom(images.Slice(start * Pixels, rows * Pixels));
            use(input, start, rows);
        }
    }
}
