using System.CommandLine;
using System.Globalization;
using System.Text;
using Spectre.Console;

namespace Service.Cli.Benchmarks;

/// <summary>What the ANNCUR benchmark commands share: option checks, order statistics and the command line for a report.</summary>
public static class BenchmarkReport
{
    /// <summary>The report file with its folder created: a missing folder must not cost a measurement that has already run.</summary>
    public static FileInfo WithFolder(this FileInfo output)
    {
        output.Directory?.Create();
        return output;
    }

    /// <summary>Adds a parse-time check that the value is at least <paramref name="minimum"/>.</summary>
    public static Option<int> AtLeast(this Option<int> option, int minimum)
    {
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<int>();
            if (value < minimum)
                result.AddError($"{option.Name} must be at least {minimum}; got {value}.");
        });
        return option;
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Nearest-rank percentile: the smallest value with at least <paramref name="percent"/>% of the values at or below it.</summary>
    public static double Percentile(IEnumerable<double> values, double percent) => PercentileOfSorted([.. values.Order()], percent);

    /// <summary><see cref="Percentile"/> of values already in ascending order, for several percentiles of one sort.</summary>
    public static double PercentileOfSorted(IReadOnlyList<double> sorted, double percent) =>
        sorted[Math.Max(0, (int)Math.Ceiling(percent / 100 * sorted.Count) - 1)];

    public static string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>How this process was invoked, for the report: <c>service-cli</c> and its arguments, quoted where they hold spaces.</summary>
    public static string CommandLine() =>
        string.Join(' ', ["service-cli", .. Environment.GetCommandLineArgs().Skip(1).Select(a => a.Contains(' ') ? $"\"{a}\"" : a)]);

    /// <summary>The results as a Spectre table (first column left, the rest right-aligned) and the summary below it.</summary>
    public static void Print(string title, string[] header, string[][] rows, string summary)
    {
        var table = new Table().Title(title);
        foreach (var (column, i) in header.Select((c, i) => (c, i)))
            table.AddColumn(i == 0 ? new TableColumn(column) : new TableColumn(column).RightAligned());
        foreach (var row in rows)
            table.AddRow(row.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine(summary);
    }

    /// <summary>The results as a Markdown section: title, the command line, the table and the summary.</summary>
    public static string Markdown(string title, string[] header, string[][] rows, string summary)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## {title}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"`{CommandLine()}`");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"| {string.Join(" | ", header)} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"|---|{string.Concat(Enumerable.Repeat("---:|", header.Length - 1))}");
        foreach (var row in rows)
            text.AppendLine(CultureInfo.InvariantCulture, $"| {string.Join(" | ", row)} |");
        text.AppendLine();
        text.AppendLine(summary);
        return text.ToString();
    }
}
