using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Service.Tests.Api;

/// <summary>Issue 16, fault 3: index names that made odd file names, and DELETE /v1/indexes/{name} (before, an index could only be removed by hand).</summary>
[Collection(IndexServiceCollection.Name)]
public sealed class IndexNameAndDeleteTests(IndexServiceFixture fixture)
{
    [Theory]
    [InlineData("trailing.")]
    [InlineData("x.anncur")]
    [InlineData("X.ANNCUR")]
    [InlineData("dash-")]
    public async Task Names_ending_in_a_dot_a_dash_or_the_file_extension_are_422(string name)
    {
        using var admin = fixture.Admin();

        var response = await admin.PostAsJsonAsync("/v1/indexes",
            new { name, items = IndexServiceFixture.Items(2), anchor_queries = IndexServiceFixture.AnchorQueries[..1] });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("name", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("field").GetString());
        Assert.Empty(Directory.GetFiles(fixture.IndexDirectory, name + "*"));
    }

    [Fact]
    public async Task Delete_unloads_the_index_and_removes_its_file_then_the_name_is_free_again()
    {
        await fixture.BuildAsync("to-delete", items: 4, anchorQueries: 2);
        using var admin = fixture.Admin();
        Assert.True(File.Exists(Path.Combine(fixture.IndexDirectory, "to-delete.anncur")));

        var deleted = await admin.DeleteAsync("/v1/indexes/to-delete");
        var again = await admin.DeleteAsync("/v1/indexes/to-delete");
        var get = await admin.GetAsync("/v1/indexes/to-delete");
        var search = await fixture.Client.PostAsJsonAsync("/v1/search", new { index = "to-delete", query = "music", k = 2, budget = 4, method = "cur" });
        var anonymous = await fixture.Client.DeleteAsync("/v1/indexes/shared");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(Directory.GetFiles(fixture.IndexDirectory, "to-delete*"));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, search.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        await fixture.BuildAsync("to-delete", items: 3, anchorQueries: 2); // the name can be built again
    }

    [Fact]
    public async Task Delete_of_a_failed_build_removes_its_checkpoint_too()
    {
        const string name = "failed-build";
        var path = Path.Combine(fixture.IndexDirectory, name + ".anncur");
        Directory.CreateDirectory(path); // every shard is checkpointed, then the rename onto the index file fails
        using var admin = fixture.Admin();

        var accepted = await admin.PostAsJsonAsync("/v1/indexes",
            new { name, items = IndexServiceFixture.Items(4), anchor_queries = IndexServiceFixture.AnchorQueries[..2] });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        await fixture.WaitAsync(name, "failed");
        Assert.True(File.Exists(path + ".partial"));
        Directory.Delete(path);
        var deleted = await admin.DeleteAsync($"/v1/indexes/{name}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(Directory.GetFileSystemEntries(fixture.IndexDirectory, name + "*"));
    }

    [Fact]
    public void The_default_index_directory_is_the_user_data_directory_never_the_content_root()
    {
        var contentRoot = Path.Combine(Path.GetTempPath(), "src", "Service.Api");

        var resolved = new Service.Api.Hosting.IndexesOptions().ResolvedDirectory(contentRoot);

        Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "service", "indexes"), resolved);
        Assert.False(resolved.StartsWith(contentRoot, StringComparison.Ordinal));
        Assert.Equal(Path.Combine(contentRoot, "idx"), new Service.Api.Hosting.IndexesOptions { Directory = "idx" }.ResolvedDirectory(contentRoot));
    }
}
