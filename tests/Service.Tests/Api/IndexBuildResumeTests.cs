using Service.Api.Features.Shared;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Service.Index;
using Service.Models.Registry;
using Service.Models.Text;
using Service.Tests.Index;

namespace Service.Tests.Api;

/// <summary>
/// Issue 16: a build that failed leaves its checkpoint (<c>&lt;name&gt;.anncur.partial</c>); a later build of the same name
/// and inputs resumes from it and removes it, and the index cannot be deleted while that build runs.
/// </summary>
[Collection(IndexServiceCollection.Name)]
public sealed class IndexBuildResumeTests(IndexServiceFixture fixture)
{
    const int ShardSize = 256; // Indexes:ShardSize's default, which the fixture keeps
    const int ItemCount = 4 * ShardSize;

    [Fact]
    public async Task A_failed_build_is_resumed_by_the_next_build_of_the_same_inputs_which_cannot_be_deleted_meanwhile()
    {
        const string name = "resumed";
        var queries = IndexServiceFixture.AnchorQueries[..2];
        var items = Enumerable.Range(0, ItemCount).Select(i => new IndexItem($"r{i}", $"{IndexServiceFixture.Sentences[i % IndexServiceFixture.Sentences.Length]} ({i})")).ToArray();
        var path = Path.Combine(fixture.IndexDirectory, name + ".anncur");

        // The first build dies in its second shard (its scorer fails after one shard's k_q calls), as a worker that went away.
        var model = fixture.Factory.Services.GetRequiredService<ModelRegistry>().Get<CrossEncoderModel>(IndexServiceFixture.CrossEncoder, CrossEncoderModel.Kind);
        var scorer = new CrossEncoderScorer(model);
        await Assert.ThrowsAsync<IOException>(() => new AnchorIndexBuilder(new FailingScorer(scorer, allowedCalls: queries.Length)) { ShardSize = ShardSize }
            .BuildAsync(scorer.BuildRequest(queries, items), path, null, CancellationToken.None));
        Assert.True(File.Exists(path + ".partial"));

        using var admin = fixture.Admin();
        var accepted = await admin.PostAsJsonAsync("/v1/indexes",
            new { name, items = items.Select(i => new { id = i.Id, text = i.Text }), anchor_queries = queries });
        var deleteWhileBuilding = await admin.DeleteAsync($"/v1/indexes/{name}"); // 3 shards of k_q CE calls are still to go
        var ready = await fixture.WaitAsync(name, "ready");

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, deleteWhileBuilding.StatusCode);
        Assert.Contains("Delete it once", JsonDocument.Parse(await deleteWhileBuilding.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
        Assert.Equal(queries.Length * ShardSize, ready.GetProperty("ce_calls_resumed").GetInt64());
        Assert.Equal(queries.Length * ItemCount, ready.GetProperty("ce_calls_done").GetInt64());
        Assert.False(File.Exists(path + ".partial"));

        // Cleanly: R equals a build that never failed.
        var clean = await new AnchorIndexBuilder(scorer) { ShardSize = ShardSize }
            .BuildAsync(scorer.BuildRequest(queries, items), Path.Combine(Path.GetTempPath(), $"clean-{Guid.NewGuid():N}.anncur"), null, CancellationToken.None);
        var served = AnchorIndexFile.Load(path, scorer.ModelHash);
        for (var q = 0; q < queries.Length; q++)
            Assert.Equal(clean.Snapshot().Scores.Row(q).ToArray(), served.Snapshot().Scores.Row(q).ToArray());
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/v1/indexes/{name}")).StatusCode);
    }
}
