using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>The admission rules in front of the routes: the per-client rate limit (429) and the request time limit (504).</summary>
public sealed class AdmissionTests
{
    static async Task<JsonElement> Problem(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task A_client_over_its_rate_gets_429_with_retry_after_and_other_clients_and_probes_are_not_affected()
    {
        using var factory = new ServiceFactory(("RateLimit:Enabled", "true"), ("RateLimit:PermitsPerSecond", "1"), ("RateLimit:Burst", "3"),
            ("Admin:ApiKeys:0", AdminKey));
        var client = factory.CreateClient();

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 6; i++)
        {
            var response = await client.GetAsync("/info");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                limited = response;
        }

        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        Assert.True(statuses.Count(s => s == HttpStatusCode.TooManyRequests) >= 2, string.Join(", ", statuses));
        Assert.True(int.Parse(limited!.Headers.GetValues("Retry-After").Single()) >= 1);
        var problem = await Problem(limited);
        Assert.Equal("urn:service:problem:rate-limited", problem.GetProperty("type").GetString());
        Assert.Contains("Retry-After", problem.GetProperty("detail").GetString());

        // The probes are never limited; a request with a configured API key draws from that key's own bucket.
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        using var keyed = new HttpRequestMessage(HttpMethod.Get, "/info") { Headers = { { "X-API-Key", AdminKey } } };
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(keyed)).StatusCode);
    }

    const string AdminKey = "admission-admin-key-0123";

    /// <summary>
    /// Issue 16, fault 2: the bucket was keyed by whatever X-API-Key a client sent, so a random key per request was never
    /// limited (0 × 429 in 3,600 requests). An unknown key now draws from its address's bucket, like no key, and so do
    /// failed admin authentications: key guessing is limited too.
    /// </summary>
    [Fact]
    public async Task Random_keys_are_limited_like_no_key_and_so_are_failed_admin_authentications()
    {
        using var factory = new ServiceFactory(("RateLimit:Enabled", "true"), ("RateLimit:PermitsPerSecond", "1"), ("RateLimit:Burst", "3"),
            ("Admin:ApiKeys:0", AdminKey));
        var client = factory.CreateClient();

        var random = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/info") { Headers = { { "X-API-Key", $"random-key-{Guid.NewGuid():N}" } } };
            random.Add((await client.SendAsync(request)).StatusCode);
        }
        var guesses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/indexes") { Headers = { { "X-API-Key", $"guess-{i}-0123456789abcdef" } } };
            guesses.Add((await client.SendAsync(request)).StatusCode);
        }

        Assert.True(random.Count(s => s == HttpStatusCode.TooManyRequests) >= 4, string.Join(", ", random));
        Assert.All(guesses, s => Assert.Equal(HttpStatusCode.TooManyRequests, s)); // the address's bucket is empty: no guess reaches the key check
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.GetAsync("/info")).StatusCode); // no key: the same bucket
    }

    [Fact]
    public async Task A_request_past_its_time_limit_gets_504_and_its_sampling_stops()
    {
        using var cancelled = new ModelCounter("service.model.sampling.cancelled", "mnist-unet");
        using var factory = new ServiceFactory(("Timeouts:LongRequestSeconds", "1"));
        var client = await factory.CreateLoadedClientAsync();

        // 64 UNet samples × 1,000 steps take minutes on a CPU; the 1 s limit stops them.
        var response = await client.PostAsJsonAsync("/v1/diffusion/samples",
            new { model = "mnist-unet", count = 64, steps = 1000, variance = "fixed-small", seed = 1, format = "json" });

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var problem = await Problem(response);
        Assert.Equal("urn:service:problem:timeout", problem.GetProperty("type").GetString());
        Assert.Contains("Timeouts:LongRequestSeconds", problem.GetProperty("detail").GetString());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (cancelled.Total == 0 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.True(cancelled.Total >= 1, "the sampling job was not cancelled");
    }
}
