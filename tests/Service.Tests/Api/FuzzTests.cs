using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Service.Cli.Benchmarks;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>The request fuzzer's cases through the real service in memory: bad input gets a 4xx problem, never a 5xx or internals.</summary>
public sealed class FuzzTests(FuzzTests.Factory factory) : IClassFixture<FuzzTests.Factory>
{
    /// <summary>
    /// An admin key is configured (the fuzzer never sends it), so admin cases reach the key check rather than "admin disabled";
    /// no per-client rate limit, so every case reaches its route; no trained UNets and a small Γ sample, so the service starts fast.
    /// </summary>
    public sealed class Factory() : ServiceFactory(
        ("Admin:ApiKeys:0", "fuzz-tests-admin-key-never-sent-0123456789"),
        ("RateLimit:Enabled", "false"),
        ("Diffusion:ModelDirectory", Path.Combine(Path.GetTempPath(), "fuzz-tests-no-diffusion-models")),
        ("Diffusion:ReferenceGammaSamples", "10"));

    const int Seed = 20240;
    const int Cases = 400;

    static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";

    /// <summary>Issue 16: U+FFFE gave 500 on every text route, and the 10,000 random cases never sent it.</summary>
    [Fact]
    public async Task Every_code_point_on_every_text_route_gets_a_2xx_or_a_problem_never_5xx()
    {
        var client = await factory.CreateLoadedClientAsync();
        var cases = RequestFuzzer.CodePointSweep().ToArray();
        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();

        foreach (var fuzzCase in cases)
        {
            using var request = FuzzCommand.CreateRequest(client.BaseAddress!, fuzzCase, exactPath: false);
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var problem = status >= 500 ? $"{status}" : FuzzCommand.FindViolation(fuzzCase, status, response.Content.Headers.ContentType?.MediaType, body);
            if (problem is not null)
                failures.Add($"{fuzzCase.Route} {Truncate(System.Text.Encoding.UTF8.GetString(fuzzCase.Body!))} {problem}: {Truncate(body)}");
        }

        Assert.True(cases.Length > 256 + 100, $"{cases.Length} cases");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Length} cases broke the error contract:\n{string.Join('\n', failures.Take(20))}");
        Assert.True(statuses.GetValueOrDefault(200) >= 100, string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}")));
    }

    [Fact]
    public async Task Fuzzed_requests_get_problem_answers_never_5xx_and_the_service_stays_live()
    {
        var client = await factory.CreateLoadedClientAsync();
        var failures = new List<string>();

        // The in-memory client refuses a path with an escaped NUL before the service sees it; bench fuzz sends those to Kestrel.
        foreach (var fuzzCase in RequestFuzzer.Generate(Seed, Cases).Where(c => !c.Path.Split('?')[0].Contains("%00")))
        {
            using var request = FuzzCommand.CreateRequest(client.BaseAddress!, fuzzCase, exactPath: false);
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            var problem = status >= 500 ? $"{status}" : FuzzCommand.FindViolation(fuzzCase, status, response.Content.Headers.ContentType?.MediaType, body);
            if (problem is not null)
                failures.Add($"{fuzzCase.Method} {Truncate(fuzzCase.Path)} [{fuzzCase.Category}, {fuzzCase.ContentType ?? "no content type"}] {problem}: {Truncate(body)}");
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {Cases} cases broke the error contract:\n{string.Join('\n', failures)}");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public void The_cases_sent_cover_every_route_and_category_and_repeat_from_the_seed()
    {
        var cases = RequestFuzzer.Generate(Seed, Cases).ToArray();
        var again = RequestFuzzer.Generate(Seed, Cases).ToArray();

        Assert.Equal(Cases, cases.Length);
        Assert.Empty(RequestFuzzer.Categories.Except(cases.Select(c => c.Category)));
        Assert.Empty(RequestFuzzer.Routes.Except(cases.Select(c => c.Route)));
        Assert.Equal(cases.Select(c => (c.Method, c.Path, c.ContentType)), again.Select(c => (c.Method, c.Path, c.ContentType)));
        Assert.All(cases.Zip(again), pair => Assert.Equal(pair.First.Body, pair.Second.Body));
    }

    /// <summary>Issue 16: the fuzzer never sent DELETE /v1/indexes/{name}, the public index list, the diagnostics or the LM routes.</summary>
    [Fact]
    public async Task Every_route_of_the_OpenAPI_document_is_a_fuzz_target()
    {
        var client = await factory.CreateLoadedClientAsync();
        var document = await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        var routes = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(operation => $"{operation.Name.ToUpperInvariant()} {path.Name}"))
            .Select(route => route.EndsWith('/') && route.Length > route.IndexOf(' ') + 2 ? route[..^1] : route) // "POST /v1/search/" is POST /v1/search
            .ToArray();

        Assert.Contains("POST /v1/lm/classify", routes); // the LM routes are mapped in this service
        Assert.Empty(routes.Except(RequestFuzzer.Routes));
    }

    [Fact]
    public void No_case_would_be_expensive_if_the_service_accepted_it()
    {
        var cases = RequestFuzzer.Generate(Seed + 1, 2000).ToArray();
        foreach (var fuzzCase in cases.Where(c => c.Route == "GET /v1/diffusion/samples/stream"))
        {
            var query = QueryHelpers.ParseQuery(fuzzCase.Path[fuzzCase.Path.IndexOf('?')..]);
            int[] Ints(string name) => [.. query.GetValueOrDefault(name).Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0)];
            Assert.DoesNotContain(Ints("count"), n => n is >= 3 and <= 1024);
            Assert.DoesNotContain(Ints("steps"), n => n is >= 11 and <= 1000);
        }
        foreach (var fuzzCase in cases.Where(c => c.Body is not null))
        {
            JsonElement body;
            try
            {
                body = JsonDocument.Parse(fuzzCase.Body).RootElement;
            }
            catch (JsonException)
            {
                continue;
            }
            if (body.ValueKind != JsonValueKind.Object)
                continue;
            int? Int(string name) => body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) ? n : null;

            if (fuzzCase.Path == "/v1/diffusion/samples")
            {
                Assert.False(Int("count") is >= 3 and <= 1024, $"count {Int("count")}");
                Assert.False(Int("steps") is >= 11 and <= 1000, $"steps {Int("steps")}");
            }
            if (fuzzCase.Path == "/v1/search" && body.TryGetProperty("method", out var method) && method.ValueKind == JsonValueKind.String && method.ValueEquals("exhaustive"))
                Assert.True(Int("k") < 1, "a valid exhaustive search");
        }
    }
}
