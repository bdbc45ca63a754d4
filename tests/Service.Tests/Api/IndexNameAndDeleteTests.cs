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
}
