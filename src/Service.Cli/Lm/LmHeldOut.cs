using System.Globalization;
using Service.Models.Lm;
using Service.Training.Lm;
using static TorchSharp.torch;

namespace Service.Cli.Lm;

/// <summary>
/// The held-out measurement a run records while it trains (curve.csv): cross-entropy and accuracy of the query's label
/// on a fixed set of sequences no training step draws, under the run's own mask, so a causal and a prefix run are read
/// on the same sequences and the same position.
/// </summary>
/// <remarks>
/// <code>
/// set        // 16 batches × 32 sequences, seed 2,000,000,011; each batch one k ~ U[suffix − 1, what the window holds]
/// loss       // mean −log p(y_q | sequence) over the full vocabulary, as training scores it
/// accuracy   // argmax over the C label tokens = y_q
/// </code>
/// </remarks>
public static class LmHeldOut
{
    public const string FileName = "curve.csv";
    public const string Header = "step,heldout_loss,heldout_accuracy,train_loss";
    const int Batches = 16;
    const int BatchSize = 32;

    public static (double Loss, double Accuracy) Measure(CausalLm model, InContextTask task, string mask, int window, int suffix)
    {
        var random = new Random(2_000_000_011);
        var maxDemonstrations = InContextTask.DemonstrationsPerWindow(window);
        var (loss, correct) = (0.0, 0);
        using var mode = inference_mode();
        for (var b = 0; b < Batches; b++)
        {
            using var scope = NewDisposeScope();
            var demonstrations = Demonstrations(random, maxDemonstrations, suffix);
            var sequences = Enumerable.Range(0, BatchSize).Select(_ => task.Sample(random, demonstrations)).ToArray();
            var length = sequences[0].Tokens.Length;
            var ids = tensor(sequences.SelectMany(s => s.Tokens.Select(t => (long)t)).ToArray(), [BatchSize, length]);
            var logits = model.forward(ids, Mask(mask, length, suffix))[.., -1]; // [B, V]
            var targets = tensor(sequences.Select(s => (long)s.Target).ToArray());
            loss += nn.functional.cross_entropy(logits, targets, reduction: nn.Reduction.Sum).item<float>();
            var answer = logits.narrow(1, task.Inputs, task.Clusters).argmax(1) + task.Inputs; // [B]
            correct += (int)answer.eq(targets).sum().item<long>();
        }
        return (loss / (Batches * BatchSize), (double)correct / (Batches * BatchSize));
    }

    /// <summary>
    /// The training mask: causal, or UniLM's prefix: BOS and the demonstrations before the last <paramref name="suffix"/>
    /// items attend bidirectionally, those items (x y each, the query x alone) causally: prefix length T − (2·suffix − 1).
    /// </summary>
    public static Tensor Mask(string mask, long length, int suffix = 1) =>
        mask == "prefix" ? AttentionMasks.PrefixBidirectional(length, length - (2 * suffix - 1)) : AttentionMasks.Causal(length);

    /// <summary>A step's demonstration count k ~ U[suffix − 1, max]: enough for the scored suffix (U[0, max] for a suffix of 1).</summary>
    public static int Demonstrations(Random random, int maxDemonstrations, int suffix) => suffix - 1 + random.Next(maxDemonstrations - suffix + 2);

    public static string Row(int step, (double Loss, double Accuracy) measured, double trainLoss) =>
        string.Create(CultureInfo.InvariantCulture, $"{step},{measured.Loss:0.00000},{measured.Accuracy:0.0000},{trainLoss:0.00000}");

    /// <summary>The rows of a run's curve.csv: step, held-out loss, held-out accuracy.</summary>
    public static List<(int Step, double Loss, double Accuracy)> Read(string runDirectory) =>
        [.. File.ReadLines(Path.Combine(runDirectory, FileName)).Skip(1).Select(line => line.Split(','))
            .Select(f => (int.Parse(f[0], CultureInfo.InvariantCulture), double.Parse(f[1], CultureInfo.InvariantCulture), double.Parse(f[2], CultureInfo.InvariantCulture)))];

    /// <summary>On resume, drop the rows past the checkpoint, which the resumed run will measure again.</summary>
    public static void Truncate(string path, int step)
    {
        if (!File.Exists(path))
            return;
        var kept = File.ReadLines(path).Where((line, i) => i == 0 || int.Parse(line.Split(',')[0], CultureInfo.InvariantCulture) <= step).ToList();
        File.WriteAllLines(path, kept);
    }
}
