using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Service.Api.Hosting;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>The committed demo index and cross-encoder, as appsettings.json configures them, serve /v1/search at once.</summary>
public sealed class DemoIndexTests
{
    [Fact]
    public async Task The_default_configuration_serves_search_over_the_committed_demo_index()
    {
        var files = ServedDefaults.IndexFiles;
        Assert.Equal(["models/indexes/verb-motion.anncur"], files);

        using var factory = new ServiceFactory
        {
            Adapters = [new AdapterOptions { Name = ServedDefaults.CrossEncoder, Kind = "cross-encoder", Path = ServedDefaults.CrossEncoderPath }],
            DefaultCrossEncoder = ServedDefaults.CrossEncoder,
            IndexFiles = files,
        };
        var client = await factory.CreateLoadedClientAsync();
        var body = new { index = "verb-motion", query = "the horse «galloped» across the field", k = 5, budget = 100, method = "cur" };
        HttpResponseMessage response;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        do
        {
            response = await client.PostAsJsonAsync("/v1/search", body); // 503 while the index computes its bi-encoder embeddings
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                break;
            await Task.Delay(500);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(5, result.GetProperty("results").GetArrayLength());
        Assert.True(result.GetProperty("ce_calls").GetInt32() <= 100);

        // Issue 14: a query as a user types it, without the benchmark's « » marks, finds the sense it means; the old
        // default cross-encoder returned sledge, swoop and swing.
        var unmarked = await client.PostAsJsonAsync("/v1/search", new { index = "verb-motion", query = "The horse galloped across the field", k = 3, budget = 200, method = "exhaustive" });
        var top = (await unmarked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray().Select(r => r.GetProperty("text").GetString()!).ToList();
        Assert.True(top[0].StartsWith("gallop", StringComparison.Ordinal), string.Join(" | ", top));

        // adaptive-de (a bi-encoder first round) finds it within 200 calls, where random first anchors return other motion verbs.
        var adaptiveDe = await client.PostAsJsonAsync("/v1/search", new { index = "verb-motion", query = "The horse galloped across the field", k = 3, budget = 200, method = "adaptive-de" });
        var found = await adaptiveDe.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(200, found.GetProperty("ce_calls").GetInt32());
        var first = found.GetProperty("results")[0].GetProperty("text").GetString()!;
        Assert.True(first.StartsWith("gallop", StringComparison.Ordinal), first);
    }
}
