using System.Net;
using System.Net.Http.Json;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Service.Api.Features.Shared;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>Every route through the real service with its default model, success and error cases.</summary>
public sealed class ApiTests(ApiTests.Factory factory) : IClassFixture<ApiTests.Factory>
{
    public sealed class Factory : ServiceFactory;

    static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    async Task<JsonElement> ReadJson(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    async Task<JsonElement> AssertProblem(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await ReadJson(response);
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Equal($"urn:service:problem:{type}", problem.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.DoesNotContain("   at ", detail);
        Assert.DoesNotContain("Service.", detail);
        Assert.DoesNotContain("/work/", detail);
        return problem;
    }

    [Fact]
    public async Task OpenAi_embeddings_return_the_list_shape_with_usage()
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsync("/v1/embeddings", Json("""{"input": ["A man is playing a guitar.", "Stocks fell."]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ReadJson(response);
        Assert.Equal("list", body.GetProperty("object").GetString());
        Assert.Equal("all-MiniLM-L6-v2", body.GetProperty("model").GetString());
        var data = body.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal(2, data.Length);
        Assert.Equal("embedding", data[1].GetProperty("object").GetString());
        Assert.Equal(1, data[1].GetProperty("index").GetInt32());
        Assert.Equal(384, data[0].GetProperty("embedding").GetArrayLength());
        Assert.Equal(9 + 5, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(14, body.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        foreach (var header in new[] { "x-tokenization-time", "x-queue-time", "x-inference-time", "x-total-time" })
            Assert.True(response.Headers.Contains(header), header);
    }

    [Fact]
    public async Task OpenAi_embeddings_accept_a_single_string_and_base64_encoding()
    {
        var client = await factory.CreateLoadedClientAsync();

        var floats = await ReadJson(await client.PostAsync("/v1/embeddings", Json("""{"input": "A man is playing a guitar."}""")));
        var base64 = await ReadJson(await client.PostAsync("/v1/embeddings",
            Json("""{"input": "A man is playing a guitar.", "encoding_format": "base64", "model": "all-MiniLM-L6-v2"}""")));

        var expected = floats.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var decoded = MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(base64.GetProperty("data")[0].GetProperty("embedding").GetString()!)).ToArray();
        Assert.Equal(expected, decoded);
    }

    [Fact]
    public async Task Tei_embed_normalises_by_default_and_can_return_raw_mean_pooled_vectors()
    {
        var client = await factory.CreateLoadedClientAsync();

        var unit = await client.PostAsJsonAsync("/embed", new { inputs = "What is Deep Learning?" });
        var raw = await client.PostAsJsonAsync("/embed", new { inputs = new[] { "What is Deep Learning?" }, normalize = false });

        var unitVector = (await unit.Content.ReadFromJsonAsync<float[][]>())!.Single();
        var rawVector = (await raw.Content.ReadFromJsonAsync<float[][]>())!.Single();
        Assert.Equal(1.0, TensorPrimitives.Norm(unitVector), 1e-5);
        Assert.NotEqual(1.0, TensorPrimitives.Norm(rawVector), 2);
        Assert.Equal(1.0, TensorPrimitives.CosineSimilarity(unitVector, rawVector), 1e-5);
    }

    [Fact]
    public async Task Too_long_input_is_422_with_the_token_count_unless_truncate_is_set()
    {
        var client = await factory.CreateLoadedClientAsync();
        var text = string.Join(' ', Enumerable.Repeat("guitar", 300));

        var refused = await client.PostAsJsonAsync("/embed", new { inputs = new[] { "short", text } });
        var problem = await AssertProblem(refused, HttpStatusCode.UnprocessableEntity, "input-too-long");
        Assert.Equal(302, problem.GetProperty("token_count").GetInt32());
        Assert.Equal(256, problem.GetProperty("max_tokens").GetInt32());
        Assert.Equal(1, problem.GetProperty("input_index").GetInt32());
        Assert.Contains("truncate", problem.GetProperty("detail").GetString());

        var truncated = await client.PostAsJsonAsync("/embed", new { inputs = new[] { text }, truncate = true });
        Assert.Equal(HttpStatusCode.OK, truncated.StatusCode);
    }

    [Fact]
    public async Task Similarity_scores_each_sentence_against_the_source()
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsJsonAsync("/similarity", new
        {
            inputs = new { source_sentence = "A man is playing a guitar.", sentences = new[] { "A person plays an instrument.", "Interest rates rose today." } },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var scores = (await response.Content.ReadFromJsonAsync<float[]>())!;
        Assert.Equal(2, scores.Length);
        Assert.True(scores[0] > scores[1] + 0.2f, $"{scores[0]} vs {scores[1]}");
        Assert.All(scores, s => Assert.InRange(s, -1.0001f, 1.0001f));
    }

    [Fact]
    public async Task Pairs_give_one_cosine_per_pair_and_reject_malformed_pairs()
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsJsonAsync("/v1/similarity/pairs", new
        {
            pairs = new[] { new[] { "A cat sleeps.", "A cat sleeps." }, new[] { "A cat sleeps.", "Markets crashed." } },
        });
        var body = await ReadJson(response);
        var scores = body.GetProperty("scores").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(1.0f, scores[0], 1e-5f);
        Assert.True(scores[1] < 0.5f);
        Assert.Equal("all-MiniLM-L6-v2", body.GetProperty("model").GetString());

        var malformed = await client.PostAsync("/v1/similarity/pairs", Json("""{"pairs": [["only one"]]}"""));
        var problem = await AssertProblem(malformed, HttpStatusCode.UnprocessableEntity, "validation-failed");
        Assert.Equal("pairs[0]", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Models_health_readiness_and_info_describe_the_service()
    {
        var client = await factory.CreateLoadedClientAsync();

        var models = await client.GetFromJsonAsync<JsonElement>("/v1/models");
        var model = Assert.Single(models.GetProperty("data").EnumerateArray(), m => m.GetProperty("kind").GetString() == "embedding");
        Assert.Equal("all-MiniLM-L6-v2", model.GetProperty("name").GetString());
        Assert.Equal("embedding", model.GetProperty("kind").GetString());
        Assert.Equal(384, model.GetProperty("dimensions").GetInt32());
        Assert.Equal(256, model.GetProperty("max_tokens").GetInt32());
        Assert.Equal("cpu", model.GetProperty("device").GetString());
        Assert.Equal("ready", model.GetProperty("status").GetString());

        Assert.Equal("live", (await client.GetFromJsonAsync<JsonElement>("/healthz")).GetProperty("status").GetString());
        Assert.Equal("ready", (await client.GetFromJsonAsync<JsonElement>("/readyz")).GetProperty("status").GetString());
        var info = await client.GetFromJsonAsync<JsonElement>("/info");
        Assert.Equal("all-MiniLM-L6-v2", info.GetProperty("default_model").GetString());
        Assert.Equal(64, info.GetProperty("limits").GetProperty("max_inputs_per_request").GetInt32());
    }

    [Fact]
    public async Task Swagger_documents_every_route_with_examples_and_problem_responses()
    {
        var client = await factory.CreateLoadedClientAsync();

        var document = await client.GetStringAsync("/swagger/v1/swagger.json");
        var ui = await client.GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        var paths = JsonDocument.Parse(document).RootElement.GetProperty("paths");
        foreach (var route in new[] { "/v1/embeddings", "/embed", "/similarity", "/v1/similarity/pairs", "/v1/models", "/healthz", "/readyz", "/info" })
            Assert.True(paths.TryGetProperty(route, out _), route);
        var embedResponses = paths.GetProperty("/embed").GetProperty("post").GetProperty("responses");
        foreach (var status in new[] { "400", "413", "415", "422", "429", "503" })
            Assert.True(embedResponses.TryGetProperty(status, out _), status);
        Assert.Contains("What is Deep Learning?", document);
        Assert.Contains("source_sentence", document);
    }

    [Theory]
    [InlineData("/embed", """{"inputs": ["unterminated""")]
    [InlineData("/embed", """{"inputs": 5}""")]
    [InlineData("/v1/embeddings", """{"input": {"nested": true}}""")]
    [InlineData("/similarity", """[1, 2, 3]""")]
    [InlineData("/v1/similarity/pairs", """{"pairs": "not pairs"}""")]
    [InlineData("/embed", "null")]
    public async Task Malformed_json_is_400_with_a_problem(string route, string body)
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsync(route, Json(body));

        await AssertProblem(response, HttpStatusCode.BadRequest, "malformed-request");
    }

    [Theory]
    [InlineData("""{"inputs": ["ok", 5]}""", "$.inputs")]
    [InlineData("""{"inputs": "ok", "normalize": "yes"}""", "$.normalize")]
    public async Task Malformed_json_names_the_json_path(string body, string path)
    {
        var client = await factory.CreateLoadedClientAsync();

        var problem = await AssertProblem(await client.PostAsync("/embed", Json(body)), HttpStatusCode.BadRequest, "malformed-request");

        Assert.Equal(path, problem.GetProperty("json_path").GetString());
    }

    [Fact]
    public async Task A_missing_body_is_400_saying_so()
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsync("/v1/embeddings", Json(""));

        var problem = await AssertProblem(response, HttpStatusCode.BadRequest, "malformed-request");
        Assert.Contains("missing", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task OpenAi_embeddings_truncate_when_asked()
    {
        var client = await factory.CreateLoadedClientAsync();
        var text = string.Join(' ', Enumerable.Repeat("guitar", 300));

        var refused = await client.PostAsJsonAsync("/v1/embeddings", new { input = text });
        var truncated = await ReadJson(await client.PostAsJsonAsync("/v1/embeddings", new { input = text, truncate = true }));

        await AssertProblem(refused, HttpStatusCode.UnprocessableEntity, "input-too-long");
        Assert.Equal(256, truncated.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Theory]
    [InlineData("/embed", """{"inputs": []}""", "inputs")]
    [InlineData("/embed", """{"inputs": [""]}""", "inputs[0]")]
    [InlineData("/embed", """{}""", "inputs")]
    [InlineData("/v1/embeddings", """{"input": ["ok", null]}""", "input[1]")]
    [InlineData("/v1/embeddings", """{"input": "ok", "encoding_format": "int8"}""", "encoding_format")]
    [InlineData("/similarity", """{"inputs": {"sentences": ["a"]}}""", "inputs.source_sentence")]
    [InlineData("/similarity", """{"inputs": {"source_sentence": "a", "sentences": []}}""", "inputs.sentences")]
    [InlineData("/v1/similarity/pairs", """{"pairs": []}""", "pairs")]
    public async Task Invalid_requests_are_422_naming_the_field(string route, string body, string field)
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsync(route, Json(body));

        var problem = await AssertProblem(response, HttpStatusCode.UnprocessableEntity, "validation-failed");
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Too_many_inputs_is_422_with_the_limit()
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsJsonAsync("/embed", new { inputs = Enumerable.Repeat("hello", 65) });

        var problem = await AssertProblem(response, HttpStatusCode.UnprocessableEntity, "validation-failed");
        Assert.Equal(64, problem.GetProperty("max_inputs").GetInt32());
    }

    [Fact]
    public async Task Unknown_model_is_422_listing_the_available_models()
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsJsonAsync("/embed", new { inputs = "hello", model = "../../etc/passwd" });

        var problem = await AssertProblem(response, HttpStatusCode.UnprocessableEntity, "unknown-model");
        Assert.Equal(["all-MiniLM-L6-v2"], problem.GetProperty("available").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413()
    {
        var client = await factory.CreateLoadedClientAsync();
        var big = new string('a', 3 * 1024 * 1024);

        var response = await client.PostAsync("/embed", Json($$"""{"inputs": "{{big}}"}"""));

        await AssertProblem(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_415()
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsync("/embed", new StringContent("inputs=hello", Encoding.UTF8, "text/plain"));

        await AssertProblem(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Theory]
    [InlineData("application/json; charset=bogus")]
    [InlineData("application/json; charset=utf-16")]
    public async Task A_json_body_in_another_charset_than_utf8_is_415(string contentType)
    {
        var client = await factory.CreateLoadedClientAsync();
        var content = new ByteArrayContent("""{"inputs": "hello"}"""u8.ToArray());
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var response = await client.PostAsync("/embed", content);

        var problem = await AssertProblem(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        Assert.Contains("UTF-8", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Unknown_routes_and_methods_are_problems()
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.GetAsync("/v1/nothing-here");
        var wrongMethod = await client.GetAsync("/embed");

        await AssertProblem(response, HttpStatusCode.NotFound, "not-found");
        await AssertProblem(wrongMethod, HttpStatusCode.MethodNotAllowed, "method-not-allowed");
    }

    [Fact]
    public async Task No_permits_left_for_the_model_is_429_with_retry_after_and_other_models_keep_theirs()
    {
        var client = await factory.CreateLoadedClientAsync();
        var permits = factory.Services.GetRequiredService<ModelPermits>();
        using (var other = permits.Admit("some-cross-encoder", 1024))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/embed", new { inputs = "hello" })).StatusCode);
        }
        using (var held = permits.Admit("all-MiniLM-L6-v2", 1024))
        {
            var response = await client.PostAsJsonAsync("/embed", new { inputs = "hello" });

            var problem = await AssertProblem(response, HttpStatusCode.TooManyRequests, "overloaded");
            Assert.Equal("1", response.Headers.RetryAfter?.ToString());
            Assert.Contains("all-MiniLM-L6-v2", problem.GetProperty("detail").GetString());
        }

        var recovered = await client.PostAsJsonAsync("/embed", new { inputs = "hello" });
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
    }
}
