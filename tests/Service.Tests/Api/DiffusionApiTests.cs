using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>The diffusion routes on the closed-form reference models (gmm-2d, gauss-64) of the real service.</summary>
public sealed class DiffusionApiTests(DiffusionApiTests.Factory factory) : IClassFixture<DiffusionApiTests.Factory>
{
    public sealed class Factory : ServiceFactory;

    static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task A_variance_added_through_the_registry_alone_is_listed_and_served()
    {
        var client = await factory.CreateLoadedClientAsync();
        var models = await Json(await client.GetAsync("/v1/diffusion/models"));
        var gmm = models.EnumerateArray().Single(m => m.GetProperty("name").GetString() == "gmm-2d");
        Assert.Contains("fixed-small-clipped", gmm.GetProperty("variances").EnumerateArray().Select(v => v.GetString()));

        var clipped = await client.PostAsJsonAsync("/v1/diffusion/samples", new { model = "gmm-2d", count = 4, steps = 10, variance = "fixed-small-clipped", seed = 3 });
        var plain = await Json(await client.PostAsJsonAsync("/v1/diffusion/samples", new { model = "gmm-2d", count = 4, steps = 10, variance = "fixed-small", seed = 3 }));

        Assert.Equal(HttpStatusCode.OK, clipped.StatusCode);
        Assert.Equal(plain.GetProperty("samples").ToString(), (await Json(clipped)).GetProperty("samples").ToString());
    }

    [Fact]
    public async Task Json_samples_are_reproducible_from_the_seed()
    {
        var client = await factory.CreateLoadedClientAsync();
        var request = new { model = "gmm-2d", count = 8, steps = 10, variance = "analytic", seed = 7, format = "json" };

        var first = await client.PostAsJsonAsync("/v1/diffusion/samples", request);
        var second = await Json(await client.PostAsJsonAsync("/v1/diffusion/samples", request));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("7", first.Headers.GetValues("x-seed").Single());
        var body = await Json(first);
        Assert.Equal(8, body.GetProperty("samples").GetArrayLength());
        Assert.Equal(2, body.GetProperty("samples")[0].GetArrayLength());
        Assert.Equal(10, body.GetProperty("trajectory").GetArrayLength());
        Assert.Equal(1000, body.GetProperty("trajectory")[9].GetInt32());
        Assert.Equal(body.GetProperty("samples").ToString(), second.GetProperty("samples").ToString());
    }

    [Theory]
    [InlineData("ddpm", "fixed-small", "even")]
    [InlineData("ddpm", "fixed-large", "quadratic")]
    [InlineData("ddim", "ddim", "even")]
    [InlineData("ddim", "analytic", "optimal")]
    [InlineData("ddpm", "npr", "even")]
    [InlineData("ddpm", "sn", "optimal")]
    public async Task Every_variance_and_trajectory_samples(string process, string variance, string trajectory)
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsJsonAsync("/v1/diffusion/samples",
            new { model = "gauss-64", count = 4, steps = 5, process, variance, trajectory, eta = 0.0, seed = 3 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var samples = (await Json(response)).GetProperty("samples");
        Assert.All(samples.EnumerateArray().SelectMany(s => s.EnumerateArray()), v => Assert.True(float.IsFinite(v.GetSingle())));
    }

    [Theory]
    [InlineData("""{"model": "gmm-2d", "variance": "optimal-ish"}""", "variance")]
    [InlineData("""{"model": "gmm-2d", "steps": 0}""", "steps")]
    [InlineData("""{"model": "gmm-2d", "steps": 1001}""", "steps")]
    [InlineData("""{"model": "gmm-2d", "count": 65}""", "count")]
    [InlineData("""{"model": "gmm-2d", "trajectory": "random"}""", "trajectory")]
    [InlineData("""{"model": "gmm-2d", "process": "sde"}""", "process")]
    [InlineData("""{"model": "gmm-2d", "eta": 1.5}""", "eta")]
    [InlineData("""{"model": "gmm-2d", "format": "png"}""", "format")]
    public async Task Invalid_sampling_requests_are_422_naming_the_field(string body, string field)
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.PostAsync("/v1/diffusion/samples", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(field, (await Json(response)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Unknown_variance_lists_the_valid_ones_and_unknown_models_are_refused()
    {
        var client = await factory.CreateLoadedClientAsync();

        var variance = await Json(await client.PostAsJsonAsync("/v1/diffusion/samples", new { model = "gmm-2d", variance = "learned" }));
        var model = await client.PostAsJsonAsync("/v1/diffusion/samples", new { model = "cifar10" });
        var embeddingModel = await client.PostAsJsonAsync("/v1/diffusion/samples", new { model = "all-MiniLM-L6-v2" });

        Assert.Equal(["fixed-small", "fixed-large", "ddim", "analytic", "npr", "sn", "fixed-small-clipped"],
            variance.GetProperty("allowed").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, model.StatusCode);
        Assert.Equal("urn:service:problem:unknown-model", (await Json(model)).GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, embeddingModel.StatusCode);
    }

    [Fact]
    public async Task Models_describe_schedule_variances_and_the_gamma_table()
    {
        var client = await factory.CreateLoadedClientAsync();

        var models = await client.GetFromJsonAsync<JsonElement>("/v1/diffusion/models");
        var detail = await client.GetFromJsonAsync<JsonElement>("/v1/diffusion/models/gauss-64");
        var missing = await client.GetAsync("/v1/diffusion/models/nope");

        Assert.Equal(["gmm-2d", "gauss-64", "mnist-unet"], models.EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        Assert.Equal("linear", detail.GetProperty("model").GetProperty("schedule").GetString());
        Assert.Equal(1000, detail.GetProperty("model").GetProperty("steps").GetInt32());
        var gamma = detail.GetProperty("gamma").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(1001, gamma.Length);
        Assert.All(gamma[1..], g => Assert.InRange(g, 0, 1.05));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_refused_stream_still_sends_its_problem_to_a_client_that_accepts_only_event_streams()
    {
        var client = await factory.CreateLoadedClientAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/diffusion/samples/stream?model=gmm-2d&steps=0");
        request.Headers.Accept.ParseAdd("text/event-stream"); // what EventSource and the playground send

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await Json(response);
        Assert.Equal("steps", problem.GetProperty("field").GetString());
        Assert.Contains("'steps' (K) must be 1..", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task The_stream_reports_every_step_then_the_result()
    {
        var client = await factory.CreateLoadedClientAsync();

        var response = await client.GetAsync("/v1/diffusion/samples/stream?model=gmm-2d&count=4&steps=6&variance=sn&seed=5");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = text.Split("\n").Where(l => l.StartsWith("event: ")).Select(l => l["event: ".Length..]).ToArray();
        Assert.Equal([.. Enumerable.Repeat("progress", 6), "result"], events);
        var result = JsonDocument.Parse(text.Split("\n").Last(l => l.StartsWith("data: "))["data: ".Length..]).RootElement;
        Assert.Equal(4, result.GetProperty("samples").GetArrayLength());
    }

    [Fact]
    public async Task A_vector_model_previews_x0_as_points_and_the_last_preview_is_the_final_sample()
    {
        var client = await factory.CreateLoadedClientAsync();

        var text = await client.GetStringAsync("/v1/diffusion/samples/stream?model=gmm-2d&count=5&steps=4&variance=analytic&seed=3&preview_every=1");

        var lines = text.Split("\n");
        var events = lines.Where(l => l.StartsWith("event: ")).Select(l => l["event: ".Length..]).ToArray();
        Assert.Equal(["progress", "preview", "progress", "preview", "progress", "preview", "progress", "preview", "result"], events);
        var data = lines.Where(l => l.StartsWith("data: ")).Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement).ToArray();
        var last = data[^2];
        Assert.False(last.TryGetProperty("png", out _));
        Assert.Equal(5, last.GetProperty("points").GetArrayLength());
        Assert.Equal(2, last.GetProperty("points")[0].GetArrayLength());
        // At the last step (s = 0) x̂₀ is the sample itself: the scatter ends where the result is.
        var samples = data[^1].GetProperty("samples");
        for (var i = 0; i < 5; i++)
            for (var j = 0; j < 2; j++)
                Assert.Equal(samples[i][j].GetSingle(), last.GetProperty("points")[i][j].GetSingle(), 3);
    }

    [Fact]
    public async Task The_trained_mnist_unet_draws_a_png_grid_with_the_analytic_variance()
    {
        var client = await factory.CreateLoadedClientAsync();

        var model = await client.GetFromJsonAsync<JsonElement>("/v1/diffusion/models/mnist-unet");
        var response = await client.PostAsJsonAsync("/v1/diffusion/samples",
            new { model = "mnist-unet", count = 4, steps = 3, variance = "analytic", seed = 11, format = "png" });

        Assert.Equal([28, 28], model.GetProperty("model").GetProperty("image_shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Contains("sn", model.GetProperty("model").GetProperty("variances").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var png = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        // 2 × 2 grid of 28-pixel tiles with 2-pixel borders: 62 × 62.
        Assert.Equal(62, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)));
        Assert.Equal(62, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)));
    }
}
