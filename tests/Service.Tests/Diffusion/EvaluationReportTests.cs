using Service.Cli.Diffusion;

namespace Service.Tests.Diffusion;

public sealed class EvaluationReportTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("eval-report-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    static EvaluationCell Fid(string process, string variance, int k, int offset, double fid) =>
        new(EvaluationReport.FidKey(process, variance, "even", k, offset), "fid", process, variance, "even", k, 1000, fid, null, null, 1, DateTimeOffset.UnixEpoch);

    [Fact]
    public void FidSpread_ReportsMeanAndSampleSd_AndTheDifferenceToTheBaselinePairedBySeed()
    {
        // Seeds 11, 12, 13 at K = 10: fixed-small 100, 104, 108 (mean 104, sd 4); analytic 98, 105, 100:
        // mean 101, sd √((9 + 16 + 1)/2) = 3.61; paired differences −2, +1, −8: mean −3, smallest −8, largest +1.
        EvaluationCell[] cells =
        [
            Fid("ddpm", "fixed-small", 10, 0, 100), Fid("ddpm", "fixed-small", 10, 1, 104), Fid("ddpm", "fixed-small", 10, 2, 108),
            Fid("ddpm", "analytic", 10, 0, 98), Fid("ddpm", "analytic", 10, 1, 105), Fid("ddpm", "analytic", 10, 2, 100),
        ];
        var path = Path.Combine(directory, "report.md");

        EvaluationReport.Write(cells, cells.Select(c => c.Cell).ToList(), path, directory, Path.Combine(directory, "none.pt"), seed: 11);

        var text = File.ReadAllText(path);
        Assert.Contains("FID spread over 3 sampling seeds (11, 12, 13; the table above is seed 11)", text);
        var lines = text.Split('\n');
        var spread = Array.IndexOf(lines, lines.First(l => l.StartsWith("### FID spread", StringComparison.Ordinal)));
        var rows = lines.Skip(spread).TakeWhile(l => !l.StartsWith("### Speed-up", StringComparison.Ordinal)).ToArray();
        Assert.Contains("| DDPM, σ² = β̃ (fixed-small) | 104.00 ± 4.00 | — | pending | pending |", rows);
        Assert.Contains("| Analytic-DDPM | 101.00 ± 3.61 | −3.00 (−8.00, +1.00) | pending | pending |", rows);
        // The main table shows seed 11 alone.
        Assert.Contains("| Analytic-DDPM | 98.00 | pending | pending | pending | — |", lines);
    }

    [Fact]
    public void FidKey_LeavesTheDefaultSeedsKeysAsBefore()
    {
        Assert.Equal("fid/ddpm/analytic/even/K10", EvaluationReport.FidKey("ddpm", "analytic", "even", 10));
        Assert.Equal("fid/ddim/ddim/even/K25/seed+2", EvaluationReport.FidKey("ddim", "ddim", "even", 25, 2));
    }
}
