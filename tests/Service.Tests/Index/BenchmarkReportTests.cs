using Service.Cli.Benchmarks;

namespace Service.Tests.Index;

public class BenchmarkReportTests
{
    /// <summary>`bench search --output data/bench/search.md` on a clone without data/bench threw after its measurement.</summary>
    [Fact]
    public void A_report_path_in_a_missing_folder_gets_its_folder()
    {
        var root = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}");
        try
        {
            var output = new FileInfo(Path.Combine(root, "nested", "search.md")).WithFolder();
            File.WriteAllText(output.FullName, "report");
            Assert.Equal("report", File.ReadAllText(output.FullName));
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }
}
