using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Service.Models.Diagnostics;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>POST /v1/diagnostics/sparsity through the real service.</summary>
public sealed class SparsityApiTests(SparsityApiTests.Factory factory) : IClassFixture<SparsityApiTests.Factory>
{
    public sealed class Factory : ServiceFactory;

    static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Vectors_get_every_measure()
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsJsonAsync("/v1/diagnostics/sparsity", new { vectors = new[] { new double[] { 1, 1, 1, 1 }, [0, 0, 3, 0] }, epsilon = 0 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var data = (await Json(response)).GetProperty("data");
        Assert.Equal(0, data[0].GetProperty("hoyer").GetDouble(), 12);
        Assert.Equal(0, data[0].GetProperty("zero_fraction").GetDouble(), 12);
        Assert.Equal(1, data[1].GetProperty("hoyer").GetDouble(), 12);
        Assert.Equal(0.75, data[1].GetProperty("zero_fraction").GetDouble(), 12);
        Assert.Equal(0.75, data[1].GetProperty("gini").GetDouble(), 12);
        Assert.Equal(1, data[1].GetProperty("entropy").GetDouble(), 12);
        Assert.Equal(0.5, data[1].GetProperty("l1_l2").GetDouble(), 12);
    }

    [Fact]
    public async Task Texts_are_measured_on_the_models_embeddings()
    {
        var client = await factory.CreateLoadedClientAsync();
        string[] texts = ["A man is playing a guitar.", "The stock market fell today."];

        var sparsity = await Json(await client.PostAsJsonAsync("/v1/diagnostics/sparsity", new { inputs = texts, target = "embeddings" }));
        var vectors = await client.PostAsJsonAsync("/embed", new { inputs = texts });
        var embeddings = (await vectors.Content.ReadFromJsonAsync<float[][]>())!;

        for (var i = 0; i < texts.Length; i++)
        {
            var x = embeddings[i].Select(v => (double)v).ToArray();
            var measured = sparsity.GetProperty("data")[i];
            Assert.Equal(384, measured.GetProperty("length").GetInt32());
            Assert.Equal(SparsityMeasures.Gini(x), measured.GetProperty("gini").GetDouble(), 9);
            Assert.Equal(SparsityMeasures.Hoyer(x), measured.GetProperty("hoyer").GetDouble(), 9);
        }
        Assert.Equal("all-MiniLM-L6-v2", sparsity.GetProperty("model").GetString());
    }

    [Theory]
    [InlineData("""{"vectors": [[1, 2]], "inputs": ["text"]}""", "inputs")]
    [InlineData("""{}""", "vectors")]
    [InlineData("""{"vectors": []}""", "vectors")]
    [InlineData("""{"vectors": [[1, 2], []]}""", "vectors[1]")]
    [InlineData("""{"vectors": [[1, 2]], "epsilon": -1}""", "epsilon")]
    [InlineData("""{"inputs": ["text"], "target": "logits"}""", "target")]
    public async Task Bad_requests_are_422_naming_the_field(string body, string field)
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsync("/v1/diagnostics/sparsity", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(field, (await Json(response)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Attention_sparsity_of_an_unknown_causal_lm_names_the_ones_there_are()
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsJsonAsync("/v1/diagnostics/sparsity", new { inputs = new[] { "<s> x1" }, target = "attention", model = "no-such-lm" });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = await Json(response);
        Assert.Equal("no-such-lm", problem.GetProperty("model").GetString());
        Assert.Equal(["icl-causal"], problem.GetProperty("available").EnumerateArray().Select(m => m.GetString()));
    }
}
