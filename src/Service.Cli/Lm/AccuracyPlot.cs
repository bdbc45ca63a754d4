using ScottPlot;

namespace Service.Cli.Lm;

/// <summary>The frame the LM pages' accuracy plots share: an accuracy axis from 0 to 1, the legend lower right, 800 × 480 PNG.</summary>
public static class AccuracyPlot
{
    public static void Save(Plot plot, string xLabel, string yLabel, string path)
    {
        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Left.Label.Text = yLabel;
        plot.Axes.SetLimitsY(0, 1.02);
        plot.ShowLegend(Alignment.LowerRight);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        plot.SavePng(path, 800, 480);
    }
}
