using System.CommandLine;
using Service.Cli.Benchmarks;

namespace Service.Cli;

/// <summary>The offline CLI; a named class so it does not clash with the service's top-level <c>Program</c> in the tests.</summary>
public static class CliProgram
{
    public static Task<int> Main(string[] args)
    {
        var root = new RootCommand("Offline work for the service: data, training, evaluation and benchmarks.");
        var bench = new Command("bench", "Measure the service against its raw runtime.");
        bench.Subcommands.Add(EmbeddingBenchmarkCommand.Create());
        bench.Subcommands.Add(CurBenchmarkCommand.Create());
        bench.Subcommands.Add(LoadCommand.Create());
        bench.Subcommands.Add(FuzzCommand.Create());
        bench.Subcommands.Add(SamplingBenchmarkCommand.Create());
        bench.Subcommands.Add(IndexBuildBenchmarkCommand.Create());
        bench.Subcommands.Add(SearchLatencyBenchmarkCommand.Create());
        root.Subcommands.Add(bench);
        var diffusion = Diffusion.DiffusionCommand.Create();
        diffusion.Subcommands.Add(Diffusion.GammaCommand.Create());
        diffusion.Subcommands.Add(Diffusion.ClassifierCommand.Create());
        diffusion.Subcommands.Add(Diffusion.EvaluateCommand.Create());
        root.Subcommands.Add(diffusion);
        root.Subcommands.Add(Text.DataCommands.Create());
        var text = new Command("text", "Train and evaluate the text models (bi-/cross-encoders on WordNet).");
        text.Subcommands.Add(Text.Training.TextTrainCommand.Create());
        text.Subcommands.Add(Text.Training.TextEvalCommand.Create());
        text.Subcommands.Add(Text.Training.TextExportCommand.Create());
        root.Subcommands.Add(text);
        root.Subcommands.Add(Index.IndexCommands.Create());
        var lm = new Command("lm", "Train and evaluate the small causal LM (issue 18).");
        lm.Subcommands.Add(Lm.LmTrainCommand.Create());
        lm.Subcommands.Add(Lm.LmEvalCommand.Create());
        lm.Subcommands.Add(Lm.LmExportCommand.Create());
        lm.Subcommands.Add(Lm.LmCompareCommand.Create());
        root.Subcommands.Add(lm);
        var diagnostics = new Command("diagnostics", "Measure properties of the served models (sparsity, attention rank).");
        diagnostics.Subcommands.Add(Diagnostics.SparsityCommand.Create());
        diagnostics.Subcommands.Add(Diagnostics.AttentionRankCommand.Create());
        root.Subcommands.Add(diagnostics);
        return root.Parse(args).InvokeAsync();
    }
}
