using System.Xml.Linq;
using Service.Tests.WordNet;

namespace Service.Tests.Architecture;

/// <summary>
/// The project references point one way: Api → Index, Models; Models → Index (the served models' scorer adapters);
/// Training → Models; the CLI on top; Index references no project of ours. A new arrow has to be added to
/// <see cref="Allowed"/> on purpose, or this test fails.
/// </summary>
public sealed class ProjectReferenceTests
{
    static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Service.Models"] = ["Service.Index"],
        ["Service.Index"] = [],
        ["Service.Training"] = ["Service.Models"],
        ["Service.Api"] = ["Service.Index", "Service.Models"],
        ["Service.Cli"] = ["Service.Api", "Service.Training", "Service.Index", "Service.Models"],
    };

    [Fact]
    public void Every_project_references_only_the_projects_below_it()
    {
        var projects = Directory.GetFiles(Path.Combine(WordNetTestData.RepositoryRoot, "src"), "*.csproj", SearchOption.AllDirectories);
        Assert.Equal(Allowed.Keys.Order(), projects.Select(Path.GetFileNameWithoutExtension).Order()!);
        foreach (var project in projects)
        {
            var name = Path.GetFileNameWithoutExtension(project);
            var references = XDocument.Load(project).Descendants("ProjectReference")
                .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
                .ToArray();
            var wrong = references.Except(Allowed[name]).ToArray();
            Assert.True(wrong.Length == 0, $"{name} references {string.Join(", ", wrong)}; allowed: {string.Join(", ", Allowed[name].DefaultIfEmpty("none"))}.");
        }
    }

    /// <summary>The CLI may use the Api only where it hosts the service; defaults and adapters come from the libraries.</summary>
    static readonly string[] CliFilesHostingTheService = ["EmbeddingBenchmarkCommand.cs"];

    [Fact]
    public void The_CLI_names_the_Api_only_in_the_commands_that_host_the_service()
    {
        var naming = Directory.GetFiles(Path.Combine(WordNetTestData.RepositoryRoot, "src", "Service.Cli"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => System.Text.RegularExpressions.Regex.IsMatch(File.ReadAllText(f), @"\bService\.Api\b"))
            .Select(Path.GetFileName);

        Assert.Equal(CliFilesHostingTheService, naming.Order());
    }

    [Fact]
    public void The_index_library_names_no_project_of_ours_even_in_a_using()
    {
        var sources = Directory.GetFiles(Path.Combine(WordNetTestData.RepositoryRoot, "src", "Service.Index"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        foreach (var file in sources)
            Assert.DoesNotMatch(@"using Service\.(Models|Api|Training|Cli)", File.ReadAllText(file));
    }
}
