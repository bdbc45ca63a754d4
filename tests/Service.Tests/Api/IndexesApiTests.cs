using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Service.Api.Hosting;
using Service.Index;
using Service.Models.Text.Adapters;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>The admin routes /v1/indexes: keys, background builds, inserts and deletes, and refused index files.</summary>
[Collection(IndexServiceCollection.Name)]
public sealed class IndexesApiTests(IndexServiceFixture fixture)
{
    const string Query = "Who is playing an instrument?";

    static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal($"urn:service:problem:{type}", problem.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        return problem;
    }

    async Task<string[]> SearchIdsAsync(string index, string method, int k)
    {
        var response = await fixture.Client.PostAsJsonAsync("/v1/search", new { index, query = Query, k, budget = k, method });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. body.GetProperty("results").EnumerateArray().Select(e => e.GetProperty("id").GetString()!)];
    }

    [Fact]
    public async Task Admin_routes_answer_401_without_a_key_and_403_with_a_wrong_one_before_reading_the_body()
    {
        var anonymous = fixture.Factory.CreateClient();
        var wrong = fixture.Factory.CreateClient();
        wrong.DefaultRequestHeaders.Add("X-API-Key", "not-the-admin-key-at-all");

        var missing = await anonymous.GetAsync("/v1/indexes");
        var malformedWithoutKey = await anonymous.PostAsync("/v1/indexes", Json("{ not json"));
        var refused = await wrong.DeleteAsync("/v1/indexes/shared/items/s1");
        var allowed = await fixture.Admin().GetAsync("/v1/indexes");

        await Problem(missing, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Contains("X-API-Key", missing.Headers.WwwAuthenticate.ToString());
        await Problem(malformedWithoutKey, HttpStatusCode.Unauthorized, "unauthorized");
        await Problem(refused, HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task A_key_configured_only_by_its_sha256_digest_is_accepted()
    {
        var client = fixture.Factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", IndexServiceFixture.HashedAdminKey);
        var digestAsKey = fixture.Factory.CreateClient();
        digestAsKey.DefaultRequestHeaders.Add("X-API-Key", AdminOptions.HashPrefix + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(IndexServiceFixture.HashedAdminKey))));

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/indexes")).StatusCode);
        await Problem(await digestAsKey.GetAsync("/v1/indexes"), HttpStatusCode.Forbidden, "forbidden"); // the digest itself is no key
    }

    [Fact]
    public async Task Without_a_configured_key_admin_routes_are_403_saying_how_to_configure_one()
    {
        await using var factory = new ServiceFactory(("Diffusion:ReferenceGammaSamples", "10"), ("Diffusion:ModelDirectory", "no-such-folder"));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", IndexServiceFixture.AdminKey);

        var response = await client.GetAsync("/v1/indexes");

        var problem = await Problem(response, HttpStatusCode.Forbidden, "forbidden");
        Assert.Contains("Admin:ApiKeys", problem.GetProperty("detail").GetString());
        await factory.CreateLoadedClientAsync(); // stop only after the models have loaded
    }

    [Fact]
    public async Task A_build_is_accepted_as_a_job_and_becomes_ready_with_its_size_model_and_file()
    {
        var admin = fixture.Admin();

        var response = await admin.PostAsJsonAsync("/v1/indexes", new
        {
            name = "built", items = IndexServiceFixture.Items(30), anchor_queries = IndexServiceFixture.AnchorQueries, dtype = "float16",
        });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("/v1/indexes/built", response.Headers.Location?.ToString());
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(string.IsNullOrEmpty(accepted.GetProperty("job_id").GetString()));
        var info = await fixture.WaitAsync("built", "ready");
        Assert.Equal(30, info.GetProperty("n").GetInt32());
        Assert.Equal(8, info.GetProperty("k_q").GetInt32());
        Assert.Equal("float16", info.GetProperty("dtype").GetString());
        Assert.Equal(8 * 30 * sizeof(float), info.GetProperty("memory_bytes").GetInt64());
        Assert.Equal(IndexServiceFixture.CrossEncoder, info.GetProperty("model").GetString());
        Assert.Equal(1.0, info.GetProperty("progress").GetDouble());
        Assert.Equal(240, info.GetProperty("ce_calls_done").GetInt64());
        Assert.Equal(240, info.GetProperty("ce_calls_total").GetInt64());
        Assert.Equal(accepted.GetProperty("job_id").GetString(), info.GetProperty("job_id").GetString());
        Assert.NotEqual(JsonValueKind.Null, info.GetProperty("created").ValueKind);
        var list = await admin.GetFromJsonAsync<JsonElement>("/v1/indexes");
        Assert.Contains("built", list.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        var file = AnchorIndexFile.Load(Path.Combine(fixture.IndexDirectory, "built.anncur"), AdaptedMiniLm.Digest(fixture.AdapterPath));
        Assert.Equal((IndexServiceFixture.CrossEncoder, 30, ScoreType.Float16), (file.Info.ModelId, file.LiveCount, file.Info.StoredAs));
        Assert.False(File.Exists(Path.Combine(fixture.IndexDirectory, "built.anncur.partial")));
        Assert.False(File.Exists(Path.Combine(fixture.IndexDirectory, "built.build.json")));

        var again = await admin.PostAsJsonAsync("/v1/indexes", new { name = "built", items = IndexServiceFixture.Items(2), anchor_queries = new[] { "q" } });
        await Problem(again, HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task An_inserted_item_is_found_by_every_method_and_a_deleted_one_by_none()
    {
        var admin = fixture.Admin();
        await fixture.BuildAsync("mutable", 10, 4);
        var newItem = new { id = "new", text = IndexServiceFixture.Sentences[^1] };

        var inserted = await admin.PostAsJsonAsync("/v1/indexes/mutable/items", new { items = new[] { newItem } });

        Assert.Equal(HttpStatusCode.OK, inserted.StatusCode);
        var added = await inserted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, added.GetProperty("added").GetInt32());
        Assert.Equal(4, added.GetProperty("ce_calls").GetInt32());
        Assert.Equal(11, added.GetProperty("n").GetInt32());
        foreach (var method in new[] { "cur", "adaptive", "de-rerank", "exhaustive" })
            Assert.Contains("new", await SearchIdsAsync("mutable", method, 11));
        await Problem(await admin.PostAsJsonAsync("/v1/indexes/mutable/items", new { items = new[] { newItem } }), HttpStatusCode.Conflict, "conflict");

        var deleted = await admin.DeleteAsync("/v1/indexes/mutable/items/new");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        foreach (var method in new[] { "cur", "adaptive", "de-rerank", "exhaustive" })
            Assert.DoesNotContain("new", await SearchIdsAsync("mutable", method, 10));
        Assert.Equal(10, (await admin.GetFromJsonAsync<JsonElement>("/v1/indexes/mutable")).GetProperty("n").GetInt32());
        await Problem(await admin.DeleteAsync("/v1/indexes/mutable/items/new"), HttpStatusCode.NotFound, "not-found");

        // Both changes were saved: the file loads with the ten original items.
        var reloaded = await admin.PostAsync("/v1/indexes/mutable/reload", null);
        Assert.Equal(HttpStatusCode.OK, reloaded.StatusCode);
        Assert.Equal(10, (await reloaded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("n").GetInt32());
        Assert.Equal(10, (await SearchIdsAsync("mutable", "exhaustive", 10)).Length);
    }

    [Fact]
    public async Task A_file_that_is_no_index_is_reported_at_start_without_stopping_the_service()
    {
        var admin = fixture.Admin();
        JsonElement info;
        do
            info = await admin.GetFromJsonAsync<JsonElement>("/v1/indexes/broken");
        while (info.GetProperty("status").GetString() == "loading");

        Assert.Equal("failed", info.GetProperty("status").GetString());
        Assert.Contains("NotAnIndex", info.GetProperty("error").GetString());
        var search = await fixture.Client.PostAsJsonAsync("/v1/search", new { index = "broken", query = "q" });
        await Problem(search, HttpStatusCode.ServiceUnavailable, "not-ready");
        Assert.Equal(HttpStatusCode.OK, (await fixture.Client.PostAsJsonAsync("/rerank", new { query = "q", texts = new[] { "t" } })).StatusCode);
    }

    [Fact]
    public async Task A_damaged_file_is_refused_on_reload_and_the_previous_index_keeps_serving()
    {
        var admin = fixture.Admin();
        await fixture.BuildAsync("reloaded", 10, 4);
        var before = await SearchIdsAsync("reloaded", "exhaustive", 5);
        var path = Path.Combine(fixture.IndexDirectory, "reloaded.anncur");
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(path, bytes);

        var reload = await admin.PostAsync("/v1/indexes/reloaded/reload", null);

        var problem = await Problem(reload, HttpStatusCode.UnprocessableEntity, "index-file-refused");
        Assert.Contains("ChecksumMismatch", problem.GetProperty("detail").GetString());
        Assert.Contains("keeps serving", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain(fixture.IndexDirectory, problem.GetProperty("detail").GetString());
        var info = await admin.GetFromJsonAsync<JsonElement>("/v1/indexes/reloaded");
        Assert.Equal("ready", info.GetProperty("status").GetString());
        Assert.Contains("ChecksumMismatch", info.GetProperty("error").GetString());
        Assert.Equal(before, await SearchIdsAsync("reloaded", "exhaustive", 5));
        Assert.Equal(5, (await SearchIdsAsync("reloaded", "cur", 5)).Length);
    }

    [Theory]
    [InlineData("""{"name": "bad name", "items": [{"id": "a", "text": "t"}], "anchor_queries": ["q"]}""", "name")]
    [InlineData("""{"name": "../up", "items": [{"id": "a", "text": "t"}], "anchor_queries": ["q"]}""", "name")]
    [InlineData("""{"name": "x", "items": [], "anchor_queries": ["q"]}""", "items")]
    [InlineData("""{"name": "x", "items": [{"id": "a", "text": "t"}, {"id": "a", "text": "u"}], "anchor_queries": ["q"]}""", "items[1].id")]
    [InlineData("""{"name": "x", "items": [{"id": "a", "text": " "}], "anchor_queries": ["q"]}""", "items[0].text")]
    [InlineData("""{"name": "x", "items": [{"id": "a", "text": "t"}], "anchor_queries": []}""", "anchor_queries")]
    [InlineData("""{"name": "x", "items": [{"id": "a", "text": "t"}], "anchor_queries": ["q", null]}""", "anchor_queries[1]")]
    [InlineData("""{"name": "x", "items": [{"id": "a", "text": "t"}], "anchor_queries": ["q"], "dtype": "float64"}""", "dtype")]
    [InlineData("""{"name": "x", "model": "all-MiniLM-L6-v2", "items": [{"id": "a", "text": "t"}], "anchor_queries": ["q"]}""", "model")]
    public async Task Invalid_builds_are_422_naming_the_field(string body, string field)
    {
        var response = await fixture.Admin().PostAsync("/v1/indexes", Json(body));

        Assert.Equal(field, (await Problem(response, HttpStatusCode.UnprocessableEntity, "validation-failed")).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Unknown_models_indexes_and_items_are_reported()
    {
        var admin = fixture.Admin();

        var model = await admin.PostAsJsonAsync("/v1/indexes", new { name = "x", model = "no-such-ce", items = IndexServiceFixture.Items(1), anchor_queries = new[] { "q" } });
        var get = await admin.GetAsync("/v1/indexes/no-such-index");
        var insert = await admin.PostAsJsonAsync("/v1/indexes/no-such-index/items", new { items = IndexServiceFixture.Items(1) });
        var delete = await admin.DeleteAsync("/v1/indexes/no-such-index/items/s1");
        var reload = await admin.PostAsync("/v1/indexes/no-such-index/reload", null);

        Assert.Equal([IndexServiceFixture.CrossEncoder], (await Problem(model, HttpStatusCode.UnprocessableEntity, "unknown-model"))
            .GetProperty("available").EnumerateArray().Select(e => e.GetString()));
        foreach (var response in new[] { get, insert, delete, reload })
            await Problem(response, HttpStatusCode.NotFound, "not-found");
    }
}
