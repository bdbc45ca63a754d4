using ScottPlot;

namespace Service.Cli.Index;

/// <summary>The recall-vs-budget figure of docs/results/cur.md: one panel per k (top-1, top-10, top-100), one line per method.</summary>
public static class CurPlot
{
    public static void Write(string domain, IReadOnlyList<CurEvalRow> rows, string path)
    {
        var panels = new (string Label, Func<CurEvalRow, double> Pick)[] { ("top-1", r => r.Recall1), ("top-10", r => r.Recall10), ("top-100", r => r.Recall100) };
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
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        figure.SavePng(path, 1500, 480);
    }
}
