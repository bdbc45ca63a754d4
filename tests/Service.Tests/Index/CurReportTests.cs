using System.Text.Json;
using Service.Cli.Index;

namespace Service.Tests.Index;

/// <summary>The ANNCUR report: anchor shares chosen on the dev domain only, and the page with its tables and figure.</summary>
public sealed class CurReportTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("cur-report-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    static CurEvalRow Cur(string domain, string role, double share, int budget, double recall10) =>
        new(domain, $"cur ({share:0.##} anchors)", budget, (int)Math.Round(share * budget), budget - (int)Math.Round(share * budget), 200, 0, recall10, 0, budget, role);

    string WriteResults(params CurEvalRow[] rows)
    {
        var path = Path.Combine(folder, "results.jsonl");
        File.WriteAllLines(path, rows.Select(r => JsonSerializer.Serialize(r)));
        return path;
    }

    [Fact]
    public void The_two_best_shares_at_budgets_from_100_come_from_the_dev_domain_alone()
    {
        var path = WriteResults(
            // dev: 0.3 best, 0.5 second at B ≥ 100; 0.9 wins only at B = 50, which does not count
            Cur("dev.domain", "dev", 0.3, 100, 0.80), Cur("dev.domain", "dev", 0.3, 200, 0.90),
            Cur("dev.domain", "dev", 0.5, 100, 0.70), Cur("dev.domain", "dev", 0.5, 200, 0.85),
            Cur("dev.domain", "dev", 0.9, 50, 0.99), Cur("dev.domain", "dev", 0.9, 100, 0.50), Cur("dev.domain", "dev", 0.9, 200, 0.60),
            // a test domain where 0.9 is best must not influence the choice
            Cur("test.domain", "test", 0.9, 100, 0.99), Cur("test.domain", "test", 0.9, 200, 0.99));

        Assert.Equal([0.3, 0.5], CurEvaluateCommand.BestShares(path, "dev.domain"));
        Assert.Throws<ArgumentException>(() => CurEvaluateCommand.BestShares(path, "test.domain"));
    }

    [Fact]
    public void The_report_has_a_table_per_k_and_a_figure_per_domain_and_says_which_domain_is_dev()
    {
        var path = WriteResults(
            Cur("dev.domain", "dev", 0.5, 100, 0.7), Cur("dev.domain", "dev", 0.5, 200, 0.8),
            Cur("test.domain", "test", 0.5, 100, 0.6), Cur("test.domain", "test", 0.5, 200, 0.75));
        var report = Path.Combine(folder, "cur.md");

        CurReport.Write(path, report);

        var text = File.ReadAllText(report);
        Assert.Contains("### dev.domain (dev domain", text);
        Assert.Contains("### test.domain (held-out test domain", text);
        Assert.Contains("| cur (0.5 anchors) | 0.600 | 0.750 |", text);
        foreach (var domain in new[] { "dev.domain", "test.domain" })
        {
            var png = File.ReadAllBytes(Path.Combine(folder, "cur", $"{domain}-recall.png"));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        }
    }

    [Fact]
    public void Gold_accuracy_gets_its_own_tables_with_the_bi_encoder_and_exhaustive_as_references_outside_the_recall_tables()
    {
        var path = WriteResults(
            new CurEvalRow("gold.domain", CurEvalRow.BiEncoderMethod, 0, 0, 0, 200, 0.1, 0.2, 0.3, 0, "test", GoldAcc1: 0.29, GoldMrr10: 0.438, Model: "ce-x"),
            new CurEvalRow("gold.domain", CurEvalRow.ExhaustiveMethod, 1411, 0, 1411, 200, 1, 1, 1, 1411, "test", GoldAcc1: 0.565, GoldMrr10: 0.694, Model: "ce-x"),
            Cur("gold.domain", "test", 0.2, 100, 0.5) with { GoldAcc1 = 0.135, GoldMrr10 = 0.155, Model = "ce-x" },
            Cur("gold.domain", "test", 0.2, 200, 0.6) with { GoldAcc1 = 0.215, GoldMrr10 = 0.246, Model = "ce-x" });
        var report = Path.Combine(folder, "cur.md");

        CurReport.Write(path, report);

        var text = File.ReadAllText(report);
        Assert.Contains("cross-encoder `ce-x`", text);
        Assert.Contains("| bi-encoder top-k | 0 | 0.290 | 0.438 |", text);
        Assert.Contains("| exhaustive CE | 1411 | 0.565 | 0.694 |", text);
        Assert.Contains("Gold acc@1 (the right synset first), by CE-call budget:\n\n| method | B = 100 | B = 200 |", text.ReplaceLineEndings("\n"));
        Assert.Contains("| cur (0.2 anchors) | 0.135 | 0.215 |", text);
        Assert.Contains("| cur (0.2 anchors) | 0.155 | 0.246 |", text);
        Assert.DoesNotContain("| bi-encoder top-k | 0.", text.Split("The gold answer")[0]); // no budget column for a reference in the recall tables
    }
}
