using System.CommandLine;
using Service.Cli.Text;
using Service.Models.Lm;
using Spectre.Console;

namespace Service.Cli.Lm;

/// <summary>
/// <c>lm export</c>: copies a finished run's weights to a served model folder (models/lm/&lt;name&gt;/model.pt) and writes
/// the sidecar lm.json the service reads: the shape, the task's token layout and where the weights came from.
/// </summary>
public static class LmExportCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Required = true, Description = "A finished run under data/lm/runs/." };
        var output = new Option<string>("--out") { Required = true, Description = "The served model's folder, e.g. models/lm/icl-causal." };
        var command = new Command("export", "Write a finished causal-LM run as a served model folder (model.pt + lm.json).") { run, output };
        command.SetAction(parse =>
        {
            var runName = parse.GetValue(run)!;
            var runDirectory = Path.Combine(DataCommands.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? ".", "data", "lm", "runs", runName);
            var weights = Path.Combine(runDirectory, LmFile.WeightsName);
            if (!File.Exists(weights))
                throw new FileNotFoundException($"Run '{runName}' has no final weights yet: train it to its last step first.", weights);
            var (_, state) = LmCheckpoint.Latest(runDirectory);
            var settings = state.Settings;
            var file = new LmFile(LmFile.CurrentFormat, settings.Config, settings.Clusters, settings.PerCluster,
                new LmTraining(runName, state.Step, settings.Seed, settings.Mask, settings.Loss, Math.Round(state.WallSeconds), state.RecentLoss is { } loss ? Math.Round(loss, 4) : null));
            var folder = parse.GetValue(output)!;
            file.Write(folder);
            File.Copy(weights, Path.Combine(folder, LmFile.WeightsName), overwrite: true);
            AnsiConsole.MarkupLine($"{runName} → {folder} ({new FileInfo(Path.Combine(folder, LmFile.WeightsName)).Length / 1e6:F1} MB, {state.Step} steps)");
            return 0;
        });
        return command;
    }
}
