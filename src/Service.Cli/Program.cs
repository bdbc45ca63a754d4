using System.CommandLine;
using Service.Cli.Benchmarks;

var root = new RootCommand("Offline work for the service: benchmarks (later: data, training, index builds, evaluation).");
var bench = new Command("bench", "Measure the service against its raw runtime.");
bench.Subcommands.Add(EmbeddingBenchmarkCommand.Create());
root.Subcommands.Add(bench);
return await root.Parse(args).InvokeAsync();
