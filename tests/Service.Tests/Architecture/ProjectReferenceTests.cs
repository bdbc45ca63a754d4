using System.Xml.Linq;
using Service.Tests.WordNet;

namespace Service.Tests.Architecture;

/// <summary>
/// The project references point one way: Api → Index, Models; Training → Models; the CLI on top; Index and Models
/// reference no project of ours. A new arrow has to be added to <see cref="Allowed"/> on purpose, or this test fails.
/// </summary>
public sealed class ProjectReferenceTests
{
    static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Service.Models"] = [],
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

    [Fact]
    public void The_index_library_names_no_project_of_ours_even_in_a_using()
    {
        var sources = Directory.GetFiles(Path.Combine(WordNetTestData.RepositoryRoot, "src", "Service.Index"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        foreach (var file in sources)
            Assert.DoesNotMatch(@"using Service\.(Models|Api|Training|Cli)", File.ReadAllText(file));
    }
}
