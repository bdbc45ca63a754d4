using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Service.Api.Hosting;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>
/// Issue 16, fault 4: /readyz answered 200 while a configured index was still loading and /v1/search answered 503. Readiness
/// now covers every index file loaded at start; one that fails to load keeps the service unready unless Indexes:Optional names it.
/// </summary>
public sealed class IndexReadinessTests
{
    [Fact]
    public async Task Readyz_is_not_200_while_a_configured_index_cannot_serve_searches()
    {
        using var factory = new ServiceFactory
        {
            Adapters = [new AdapterOptions { Name = ServedDefaults.CrossEncoder, Kind = "cross-encoder", Path = ServedDefaults.CrossEncoderPath }],
            DefaultCrossEncoder = ServedDefaults.CrossEncoder,
            IndexFiles = ServedDefaults.IndexFiles,
        };
        var client = factory.CreateClient();
        var body = new { index = "verb-motion", query = "the horse galloped across the field", k = 3, budget = 50, method = "cur" };

        var observations = new List<(HttpStatusCode Ready, HttpStatusCode Search)>();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            var ready = (await client.GetAsync("/readyz")).StatusCode;
            var search = (await client.PostAsJsonAsync("/v1/search", body)).StatusCode;
            observations.Add((ready, search));
            if (ready == HttpStatusCode.OK && search == HttpStatusCode.OK)
                break;
            await Task.Delay(100);
        }

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), observations[^1]);
        Assert.DoesNotContain((HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable), observations);
    }

    [Fact]
    public async Task An_index_file_that_fails_to_load_makes_the_service_unready_unless_it_is_optional()
    {
        var folder = Directory.CreateTempSubdirectory("readiness-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "broken.anncur"), "this file is no index");
            using var strict = new ServiceFactory(("Indexes:Directory", folder));
            using var lenient = new ServiceFactory(("Indexes:Directory", folder), ("Indexes:Optional:0", "broken"));

            var unready = await WaitForIndexAsync(await strict.CreateLoadedClientAsync());
            var ready = await WaitForIndexAsync(await lenient.CreateLoadedClientAsync());

            Assert.Equal(HttpStatusCode.ServiceUnavailable, unready.StatusCode);
            Assert.Contains("index broken (failed", JsonDocument.Parse(await unready.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>/readyz once the index is no longer loading (its failure takes the catalog a moment after the models).</summary>
    static async Task<HttpResponseMessage> WaitForIndexAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        HttpResponseMessage response;
        do
        {
            response = await client.GetAsync("/readyz");
            var detail = response.IsSuccessStatusCode ? "" : await response.Content.ReadAsStringAsync();
            if (!detail.Contains("loading", StringComparison.Ordinal) && !detail.Contains("not listed", StringComparison.Ordinal))
                return response;
            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        return response;
    }
}
