using ScottPlot;

namespace Service.Cli.Index;

/// <summary>
/// The figure of docs/results/cur.md: recall of the exact CE top-k against the budget (k = 1, 10, 100), one line per method,
/// and, where measured, gold acc@1 beside the bi-encoder's and the exhaustive cross-encoder's flat lines.
/// </summary>
public static class CurPlot
{
    public static void Write(string domain, IReadOnlyList<CurEvalRow> rows, string path)
    {
        var references = rows.Where(r => r.IsReference).ToList();
        rows = [.. rows.Where(r => !r.IsReference)];
        var panels = new (string Label, Func<CurEvalRow, double> Pick)[] { ("top-1", r => r.Recall1), ("top-10", r => r.Recall10), ("top-100", r => r.Recall100) };
        var gold = rows.Any(r => r.GoldAcc1 is not null);
        var figure = new Multiplot();
        figure.Layout = new ScottPlot.MultiplotLayouts.Columns();
        for (var p = 0; p < panels.Length; p++)
        {
            var (label, pick) = panels[p];
            var plot = p == 0 ? figure.GetPlot(0) : figure.AddPlot(); // a new Multiplot holds one plot already
            foreach (var method in rows.Select(r => r.Method).Distinct())
            {
                var points = rows.Where(r => r.Method == method).OrderBy(r => r.Budget).ToList();
                var line = plot.Add.Scatter(points.Select(r => (double)r.Budget).ToArray(), points.Select(pick).ToArray());
                line.LegendText = method;
                line.MarkerSize = 6;
            }
            plot.Title($"{domain}: {label} recall");
            plot.Axes.Bottom.Label.Text = "CE calls per query (budget)";
            plot.Axes.Left.Label.Text = $"recall of the exact CE {label}";
            plot.Axes.SetLimitsY(0, 1.02);
            plot.ShowLegend(Alignment.LowerRight);
        }
        if (gold)
        {
            var plot = figure.AddPlot();
            foreach (var method in rows.Where(r => r.GoldAcc1 is not null).Select(r => r.Method).Distinct())
            {
                var points = rows.Where(r => r.Method == method && r.GoldAcc1 is not null).OrderBy(r => r.Budget).ToList();
                var line = plot.Add.Scatter(points.Select(r => (double)r.Budget).ToArray(), points.Select(r => r.GoldAcc1!.Value).ToArray());
                line.LegendText = method;
                line.MarkerSize = 6;
            }
            foreach (var reference in references.Where(r => r.GoldAcc1 is not null))
            {
                var flat = plot.Add.HorizontalLine(reference.GoldAcc1!.Value);
                flat.LegendText = $"{reference.Method} ({reference.MeanCalls:F0} CE calls)";
                flat.LinePattern = LinePattern.Dashed;
            }
            plot.Title($"{domain}: gold acc@1");
            plot.Axes.Bottom.Label.Text = "CE calls per query (budget)";
            plot.Axes.Left.Label.Text = "right synset first";
            plot.Axes.SetLimitsY(0, 1.02);
            plot.ShowLegend(Alignment.LowerRight);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        figure.SavePng(path, gold ? 2000 : 1500, 480);
    }
}
