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
/// <c>text export</c>: writes a finished <c>--adaptation linears</c> run as a dense adapter — every encoder Linear weight
/// as float16 <c>P.weight</c> plus the float32 head — for the service to merge into the base ONNX model at load.
/// </summary>
/// <remarks>
/// float16 halves the file (≈ 21 MB for MiniLM-L6's 36 Linears) at a relative rounding of at most 2⁻¹¹ per weight. The
/// served model is the rounded one; the parity test compares ONNX Runtime with TorchSharp on the same rounded weights.
/// </remarks>
public static class TextExportCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "A finished run under data/text/runs/ trained with --adaptation linears.", Required = true };
        var output = new Option<string>("--out") { Description = "e.g. models/text/<name>/adapter.safetensors", Required = true };
        var command = new Command("export", "Write a finished full-Linear run as a dense float16 adapter for the service.") { run, output };
        command.SetAction(parse =>
        {
            TorchRuntime.EnsureInitialized();
            var runName = parse.GetValue(run)!;
            var runDirectory = Path.Combine(DataCommands.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? ".", "data", "text", "runs", runName);
            var info = JsonSerializer.Deserialize<TextRunInfo>(File.ReadAllText(Path.Combine(runDirectory, "run.json")))!;
            if (info.Adaptation != nameof(Adaptation.Linears) || info.Kind != TextAdapter.CrossEncoder)
                throw new ArgumentException($"Run '{runName}' is a {info.Kind} trained with {info.Adaptation}; export takes cross-encoders trained with --adaptation linears.");
            var (modelPath, _) = MiniLmPackage.Extract(ModelCache.DefaultDirectory);
            using var model = new TextModel(BertEncoder.FromOnnx(modelPath));
            model.Prepare(Adaptation.Linears, new LoraOptions());
            model.load(info.ModelPath);

            var tensors = new Dictionary<string, (float[] Data, long[] Shape)>(StringComparer.Ordinal);
            foreach (var (path, _, linear) in model.Encoder.Linears())
            {
                var weight = ((Linear)linear).weight!;
                tensors[$"{path}.weight"] = (RoundedToHalf(weight.detach().contiguous().data<float>().ToArray()), weight.shape);
            }
            tensors[TextAdapter.HeadWeightName] = (model.Head.weight!.detach().contiguous().data<float>().ToArray(), model.Head.weight.shape);
            tensors[TextAdapter.HeadBiasName] = (model.Head.bias!.detach().contiguous().data<float>().ToArray(), model.Head.bias.shape);
            var extra = new Dictionary<string, string>
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
            var adapter = new TextAdapter(new TextAdapterInfo(TextAdapter.CrossEncoder, MiniLmPackage.ModelName, MiniLmPackage.ModelSha256, 0, 0, extra), tensors);
            adapter.Save(parse.GetValue(output)!, denseAsHalf: true);
            AnsiConsole.MarkupLine($"{runName}: {tensors.Count - 2} dense Linear weights (float16) + head → {parse.GetValue(output)} ({new FileInfo(parse.GetValue(output)!).Length / 1e6:F1} MB)");
            return 0;
        });
        return command;
    }

    /// <summary>The values the float16 file will hold, so the adapter in memory equals the adapter on disk.</summary>
    static float[] RoundedToHalf(float[] values)
    {
        var half = new Half[values.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(values, half);
        System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(half, values);
        return values;
    }
}
