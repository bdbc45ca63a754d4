using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Service.Api.Hosting;
using Service.Models.Text.Adapters;
using Service.Tests.Fixtures;
using Service.Tests.TextAdapters;

namespace Service.Tests.Api;

/// <summary>
/// POST /rerank and adapter models through the real service: a bi-encoder and a cross-encoder adapter written at test
/// start (random LoRA and head), plus a configured adapter whose file does not exist.
/// </summary>
public sealed class RerankApiTests(RerankApiTests.Fixture fixture) : IClassFixture<RerankApiTests.Fixture>
{
    public sealed class Fixture : IDisposable
    {
        public Fixture()
        {
            Lora = new LoraMiniLmFixture();
            Factory = new ServiceFactory
            {
                Adapters =
                [
                    new AdapterOptions { Name = "test-bi", Kind = TextAdapter.BiEncoder, Path = Lora.BiEncoderPath },
                    new AdapterOptions { Name = "test-ce", Kind = TextAdapter.CrossEncoder, Path = Lora.CrossEncoderPath },
                    new AdapterOptions { Name = "missing-ce", Kind = TextAdapter.CrossEncoder, Path = "models/text/no-such-adapter/adapter.safetensors" },
                ],
                DefaultCrossEncoder = "test-ce",
            };
        }

        public LoraMiniLmFixture Lora { get; }
        public ServiceFactory Factory { get; }

        public void Dispose()
        {
            Factory.Dispose();
            Lora.Dispose();
        }
    }

    const string Query = "What is a bank?";

    static readonly string[] Texts =
    [
        "Cheese.",
        "bank, depository financial institution: a financial institution that accepts deposits and channels the money into lending",
        "A man is playing a guitar.",
        "Deep learning is a family of machine learning methods based on neural networks.",
    ];

    static float Sigmoid(float x) => 1 / (1 + MathF.Exp(-x));

    static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal($"urn:service:problem:{type}", problem.GetProperty("type").GetString());
        return problem;
    }

    static (int Index, float Score, string? Text)[] Ranking(JsonElement body) => body.EnumerateArray()
        .Select(e => (e.GetProperty("index").GetInt32(), e.GetProperty("score").GetSingle(), e.TryGetProperty("text", out var t) ? t.GetString() : null))
        .ToArray();

    [Fact]
    public async Task Rerank_returns_every_text_best_first_with_sigmoid_scores_of_the_default_cross_encoder()
    {
        var client = await fixture.Factory.CreateLoadedClientAsync();

        var response = await client.PostAsJsonAsync("/rerank", new { query = Query, texts = Texts });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ranking = Ranking(await response.Content.ReadFromJsonAsync<JsonElement>());
        var expected = fixture.Lora.Score(Query, Texts);
        Assert.Equal(Enumerable.Range(0, Texts.Length), ranking.Select(r => r.Index).Order());
        Assert.Equal(ranking.Select(r => r.Score).OrderDescending(), ranking.Select(r => r.Score));
        Assert.All(ranking, r =>
        {
            Assert.Equal(Sigmoid(expected[r.Index]), r.Score, 1e-4f);
            Assert.InRange(r.Score, 0f, 1f);
            Assert.Null(r.Text);
        });
        foreach (var header in new[] { "x-tokenization-time", "x-queue-time", "x-inference-time", "x-total-time" })
            Assert.True(response.Headers.Contains(header), header);
    }

    [Fact]
    public async Task Raw_scores_are_the_cross_encoder_logits_and_return_text_echoes_each_text()
    {
        var client = await fixture.Factory.CreateLoadedClientAsync();

        var response = await client.PostAsJsonAsync("/rerank", new { query = Query, texts = Texts, raw_scores = true, return_text = true, model = "test-ce" });

        var ranking = Ranking(await response.Content.ReadFromJsonAsync<JsonElement>());
        var expected = fixture.Lora.Score(Query, Texts);
        Assert.Equal(expected.Select((score, index) => index).OrderByDescending(i => expected[i]), ranking.Select(r => r.Index));
        Assert.All(ranking, r =>
        {
            Assert.Equal(expected[r.Index], r.Score, 1e-4f);
            Assert.Equal(Texts[r.Index], r.Text);
        });
    }

    [Fact]
    public async Task A_pair_over_the_token_limit_is_422_with_its_token_count_unless_truncate_cuts_the_text()
    {
        var client = await fixture.Factory.CreateLoadedClientAsync();
        var longText = string.Join(' ', Enumerable.Repeat("guitar", 300));
        var queryTokens = fixture.Lora.Ids(Query).Length;

        var refused = await client.PostAsJsonAsync("/rerank", new { query = Query, texts = new[] { "short", longText } });
        var truncated = await client.PostAsJsonAsync("/rerank", new { query = Query, texts = new[] { "short", longText }, truncate = true, raw_scores = true });

        var problem = await Problem(refused, HttpStatusCode.UnprocessableEntity, "input-too-long");
        Assert.Equal(1, problem.GetProperty("input_index").GetInt32());
        Assert.Equal(queryTokens + 302 - 1, problem.GetProperty("token_count").GetInt32());
        Assert.Equal(256, problem.GetProperty("max_tokens").GetInt32());
        Assert.Contains("truncate", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, truncated.StatusCode);
        var score = Ranking(await truncated.Content.ReadFromJsonAsync<JsonElement>()).Single(r => r.Index == 1).Score;
        Assert.Equal(fixture.Lora.Score(Query, [longText], truncate: true)[0], score, 1e-4f);
    }

    [Theory]
    [InlineData("""{"texts": ["a"]}""", "query")]
    [InlineData("""{"query": " ", "texts": ["a"]}""", "query")]
    [InlineData("""{"query": "q"}""", "texts")]
    [InlineData("""{"query": "q", "texts": []}""", "texts")]
    [InlineData("""{"query": "q", "texts": ["a", null]}""", "texts[1]")]
    public async Task Invalid_rerank_requests_are_422_naming_the_field(string body, string field)
    {
        var client = await fixture.Factory.CreateLoadedClientAsync();

        var response = await client.PostAsync("/rerank", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await Problem(response, HttpStatusCode.UnprocessableEntity, "validation-failed");
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Too_many_texts_is_422_and_malformed_json_is_400()
    {
        var client = await fixture.Factory.CreateLoadedClientAsync();

        var tooMany = await client.PostAsJsonAsync("/rerank", new { query = "q", texts = Enumerable.Repeat("t", 65) });
        var malformed = await client.PostAsync("/rerank", new StringContent("""{"query": "q", "texts": "not an array"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(64, (await Problem(tooMany, HttpStatusCode.UnprocessableEntity, "validation-failed")).GetProperty("max_inputs").GetInt32());
        await Problem(malformed, HttpStatusCode.BadRequest, "malformed-request");
    }

    [Fact]
    public async Task Models_of_the_wrong_kind_are_422_listing_the_right_ones_and_unknown_models_are_unknown()
    {
        var client = await fixture.Factory.CreateLoadedClientAsync();

        var biForRerank = await client.PostAsJsonAsync("/rerank", new { query = "q", texts = new[] { "t" }, model = "test-bi" });
        var ceForEmbed = await client.PostAsJsonAsync("/embed", new { inputs = "t", model = "test-ce" });
        var unknown = await client.PostAsJsonAsync("/rerank", new { query = "q", texts = new[] { "t" }, model = "no-such-model" });

        var problem = await Problem(biForRerank, HttpStatusCode.UnprocessableEntity, "validation-failed");
        Assert.Equal(["test-ce", "missing-ce"], problem.GetProperty("available").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("test-ce, missing-ce", problem.GetProperty("detail").GetString());
        var embedProblem = await Problem(ceForEmbed, HttpStatusCode.UnprocessableEntity, "validation-failed");
        Assert.Equal(["all-MiniLM-L6-v2", "test-bi"], embedProblem.GetProperty("available").EnumerateArray().Select(e => e.GetString()));
        var unknownProblem = await Problem(unknown, HttpStatusCode.UnprocessableEntity, "unknown-model");
        Assert.Equal(["test-ce", "missing-ce"], unknownProblem.GetProperty("available").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task A_missing_adapter_fails_only_its_model_with_503_naming_the_file()
    {
        var client = await fixture.Factory.CreateLoadedClientAsync();

        var models = (await client.GetFromJsonAsync<JsonElement>("/v1/models")).GetProperty("data").EnumerateArray()
            .ToDictionary(m => m.GetProperty("name").GetString()!, m => m);
        var rerank = await client.PostAsJsonAsync("/rerank", new { query = "q", texts = new[] { "t" }, model = "missing-ce" });

        Assert.Equal("failed", models["missing-ce"].GetProperty("status").GetString());
        Assert.Contains("models/text/no-such-adapter/adapter.safetensors", models["missing-ce"].GetProperty("error").GetString());
        Assert.Equal("cross-encoder", models["test-ce"].GetProperty("kind").GetString());
        Assert.Equal("embedding", models["test-bi"].GetProperty("kind").GetString());
        Assert.All(new[] { "all-MiniLM-L6-v2", "test-bi", "test-ce" }, name => Assert.Equal("ready", models[name].GetProperty("status").GetString()));
        var problem = await Problem(rerank, HttpStatusCode.ServiceUnavailable, "not-ready");
        Assert.Contains("models/text/no-such-adapter/adapter.safetensors", problem.GetProperty("detail").GetString());
        Assert.NotNull(rerank.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/embed", new { inputs = "still serving" })).StatusCode);
    }

    [Fact]
    public async Task Embeddings_from_a_bi_encoder_adapter_differ_from_the_base_model_and_equal_the_TorchSharp_reference()
    {
        var client = await fixture.Factory.CreateLoadedClientAsync();
        string[] inputs = ["A man is playing a guitar.", "Stocks fell sharply on Monday."];

        var adapted = await client.PostAsJsonAsync("/embed", new { inputs, normalize = false, model = "test-bi" });
        var original = await client.PostAsJsonAsync("/embed", new { inputs, normalize = false });
        var openAi = await client.PostAsJsonAsync("/v1/embeddings", new { input = inputs, model = "test-bi" });
        var pairs = await client.PostAsJsonAsync("/v1/similarity/pairs", new { pairs = new[] { inputs }, model = "test-bi" });

        var vectors = (await adapted.Content.ReadFromJsonAsync<float[][]>())!;
        var baseVectors = (await original.Content.ReadFromJsonAsync<float[][]>())!;
        var expected = fixture.Lora.Embed(inputs);
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.True(vectors[i].Zip(expected[i], (a, e) => Math.Abs(a - e)).Max() < 1e-4, $"input {i} differs from TorchSharp");
            Assert.True(vectors[i].Zip(baseVectors[i], (a, e) => Math.Abs(a - e)).Max() > 1e-2, $"input {i} equals the base model's");
        }
        Assert.Equal("test-bi", (await openAi.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model").GetString());
        Assert.Equal("test-bi", (await pairs.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model").GetString());
    }

    [Fact]
    public async Task Swagger_documents_rerank_with_an_example()
    {
        var client = await fixture.Factory.CreateLoadedClientAsync();

        var document = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json")).RootElement;

        var post = document.GetProperty("paths").GetProperty("/rerank").GetProperty("post");
        foreach (var status in new[] { "200", "400", "413", "415", "422", "429", "503" })
            Assert.True(post.GetProperty("responses").TryGetProperty(status, out _), status);
        Assert.Contains("What is Deep Learning?", document.GetRawText());
        Assert.Contains("raw_scores", document.GetRawText());
    }
}
