using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Service.Tests.Api;

/// <summary>POST /v1/search on indexes built through the service, with a real cross-encoder.</summary>
[Collection(IndexServiceCollection.Name)]
public sealed class SearchApiTests(IndexServiceFixture fixture)
{
    const string Query = "Who is playing an instrument?";

    static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal($"urn:service:problem:{type}", problem.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        return problem;
    }

    static (string Id, string Text, float Score)[] Results(JsonElement body) => [.. body.GetProperty("results").EnumerateArray()
        .Select(e => (e.GetProperty("id").GetString()!, e.GetProperty("text").GetString()!, e.GetProperty("score").GetSingle()))];

    async Task<JsonElement> SearchAsync(object body)
    {
        var response = await fixture.Client.PostAsJsonAsync("/v1/search", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        foreach (var header in new[] { "x-ce-time", "x-approx-time", "x-rerank-time", "x-total-time" })
            Assert.True(response.Headers.Contains(header), header);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Cross_encoder_calls_per_search_are_exported_by_index_and_method()
    {
        var index = await fixture.SharedIndexAsync();

        await SearchAsync(new { index, query = Query, k = 3, budget = 9, method = "cur" });

        var metrics = await fixture.Client.GetStringAsync("/metrics");
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("service_search_ce_calls_bucket", StringComparison.Ordinal)
            && line.Contains($"index=\"{index}\"") && line.Contains("method=\"cur\"") && line.Contains("le=\"10\""));
    }

    [Theory]
    [InlineData("cur")]
    [InlineData("adaptive")]
    [InlineData("adaptive-de")]
    [InlineData("de-rerank")]
    [InlineData("exhaustive")]
    public async Task Every_method_returns_exactly_scored_results_best_first_within_the_budget(string method)
    {
        var index = await fixture.SharedIndexAsync();

        var body = await SearchAsync(new { index, query = Query, k = 5, budget = 12, method });

        var results = Results(body);
        Assert.Equal(5, results.Length);
        Assert.Equal(results.Select(r => r.Score).OrderDescending(), results.Select(r => r.Score));
        Assert.Equal(5, results.Select(r => r.Id).Distinct().Count());
        Assert.Equal(method == "exhaustive" ? 30 : 12, body.GetProperty("ce_calls").GetInt32());
        var exact = await fixture.RerankAsync(Query, [.. results.Select(r => r.Text)]);
        Assert.All(results, r => Assert.Equal(exact[r.Text], r.Score, 1e-4f));
        Assert.All(results, r => Assert.Equal(IndexServiceFixture.Sentences[int.Parse(r.Id[1..])], r.Text));
        var timings = body.GetProperty("timings");
        foreach (var stage in new[] { "ce_ms", "approx_ms", "rerank_ms" })
            Assert.True(timings.GetProperty(stage).GetDouble() >= 0, stage);
    }

    [Fact]
    public async Task Exhaustive_equals_scoring_every_item_with_the_cross_encoder()
    {
        var index = await fixture.SharedIndexAsync();

        var body = await SearchAsync(new { index, query = Query, k = 30, method = "exhaustive" });

        var exact = await fixture.RerankAsync(Query, IndexServiceFixture.Sentences[..30]);
        var results = Results(body);
        Assert.Equal(exact.OrderByDescending(e => e.Value).Select(e => e.Key), results.Select(r => r.Text));
        Assert.All(results, r => Assert.Equal(exact[r.Text], r.Score, 1e-4f));
    }

    [Theory]
    [InlineData("cur")]
    [InlineData("adaptive")]
    [InlineData("adaptive-de")]
    public async Task A_budget_of_every_item_gives_the_exact_top_k(string method)
    {
        var index = await fixture.SharedIndexAsync();

        var approximate = await SearchAsync(new { index, query = Query, k = 5, budget = 30, method, anchors = 10 });
        var exact = await SearchAsync(new { index, query = Query, k = 5, method = "exhaustive" });

        Assert.Equal(Results(exact).Select(r => r.Id), Results(approximate).Select(r => r.Id));
        Assert.Equal(30, approximate.GetProperty("ce_calls").GetInt32());
    }

    [Theory]
    [InlineData("cur", 2)]      // Search:CurAnchorShare 0.3 of 8, rounded
    [InlineData("adaptive", 6)] // Search:AdaptiveAnchorShare 0.7 of 8, rounded
    [InlineData("adaptive-de", 6)] // Search:AdaptiveDeAnchorShare 0.7 of 8, rounded
    public async Task Omitting_anchors_spends_the_method_s_default_share_of_the_budget_on_them(string method, int anchors)
    {
        var index = await fixture.SharedIndexAsync();

        var implied = await SearchAsync(new { index, query = Query, k = 3, budget = 8, method });
        var given = await SearchAsync(new { index, query = Query, k = 3, budget = 8, method, anchors });

        Assert.Equal(Results(given), Results(implied));
        Assert.Equal(8, implied.GetProperty("ce_calls").GetInt32());
    }

    [Theory]
    [InlineData("""{"query": "q"}""", "index")]
    [InlineData("""{"index": "shared", "query": " "}""", "query")]
    [InlineData("""{"index": "shared", "query": "q", "k": 11, "budget": 10}""", "k")]
    [InlineData("""{"index": "shared", "query": "q", "k": 0}""", "k")]
    [InlineData("""{"index": "shared", "query": "q", "k": 1, "budget": 1}""", "budget")]
    [InlineData("""{"index": "shared", "query": "q", "budget": 100000}""", "budget")]
    [InlineData("""{"index": "shared", "query": "q", "anchors": 0}""", "anchors")]
    [InlineData("""{"index": "shared", "query": "q", "budget": 10, "anchors": 11}""", "anchors")]
    [InlineData("""{"index": "shared", "query": "q", "method": "exhaustive", "anchors": 5}""", "anchors")]
    public async Task Invalid_searches_are_422_naming_the_field(string body, string field)
    {
        var response = await fixture.Client.PostAsync("/v1/search", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(field, (await Problem(response, HttpStatusCode.UnprocessableEntity, "validation-failed")).GetProperty("field").GetString());
    }

    [Fact]
    public async Task An_unknown_method_is_422_listing_the_methods_and_malformed_json_is_400()
    {
        var unknown = await fixture.Client.PostAsJsonAsync("/v1/search", new { index = "shared", query = "q", method = "bm25" });
        var malformed = await fixture.Client.PostAsync("/v1/search", new StringContent("""{"index": "shared", "query": "q", "k": "ten"}""", Encoding.UTF8, "application/json"));

        var problem = await Problem(unknown, HttpStatusCode.UnprocessableEntity, "validation-failed");
        Assert.Equal(["cur", "adaptive", "adaptive-de", "de-rerank", "exhaustive"], problem.GetProperty("available").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("cur, adaptive, adaptive-de, de-rerank, exhaustive", problem.GetProperty("detail").GetString());
        await Problem(malformed, HttpStatusCode.BadRequest, "malformed-request");
    }

    [Fact]
    public async Task An_unknown_index_is_404()
    {
        var response = await fixture.Client.PostAsJsonAsync("/v1/search", new { index = "no-such-index", query = "q" });

        var problem = await Problem(response, HttpStatusCode.NotFound, "not-found");
        Assert.Contains("no-such-index", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Exhaustive_search_of_an_index_over_the_limit_is_422_pointing_to_cur_and_adaptive()
    {
        await fixture.BuildAsync("large", IndexServiceFixture.MaxExhaustiveItems + 1, 2);

        var exhaustive = await fixture.Client.PostAsJsonAsync("/v1/search", new { index = "large", query = Query, method = "exhaustive" });
        var cur = await SearchAsync(new { index = "large", query = Query, k = 3, budget = 10 });

        var problem = await Problem(exhaustive, HttpStatusCode.UnprocessableEntity, "validation-failed");
        Assert.Equal("method", problem.GetProperty("field").GetString());
        Assert.Contains("cur or adaptive", problem.GetProperty("detail").GetString());
        Assert.Equal(10, cur.GetProperty("ce_calls").GetInt32());
    }

    [Fact]
    public async Task Swagger_documents_search_and_the_admin_key_with_examples()
    {
        var document = JsonDocument.Parse(await fixture.Client.GetStringAsync("/swagger/v1/swagger.json")).RootElement;

        var search = document.GetProperty("paths").GetProperty("/v1/search").GetProperty("post");
        foreach (var status in new[] { "200", "400", "404", "422", "429", "503" })
            Assert.True(search.GetProperty("responses").TryGetProperty(status, out _), status);
        var build = document.GetProperty("paths").GetProperty("/v1/indexes").GetProperty("post");
        foreach (var status in new[] { "202", "401", "403", "409", "422" })
            Assert.True(build.GetProperty("responses").TryGetProperty(status, out _), status);
        Assert.True(build.TryGetProperty("security", out _));
        Assert.False(search.TryGetProperty("security", out _));
        Assert.Equal("X-API-Key", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("AdminKey").GetProperty("name").GetString());
        Assert.Contains("Where can I deposit money?", document.GetRawText());
        Assert.Contains("anchor_queries", document.GetRawText());
    }
}
