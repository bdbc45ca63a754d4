using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Service.Api.Hosting;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>Start-up, failure and cancellation behaviour, each on its own service instance.</summary>
public sealed class ServiceLifecycleTests
{
    [Fact]
    public async Task A_model_that_cannot_load_makes_the_service_not_ready_with_503()
    {
        var blocked = Path.Combine(Path.GetTempPath(), $"not-a-directory-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(blocked, "a file where the model cache should be");
        try
        {
            await using var factory = new ServiceFactory(("Models:CacheDirectory", blocked));
            var client = await factory.CreateLoadedClientAsync();

            var models = await client.GetFromJsonAsync<JsonElement>("/v1/models");
            Assert.Equal("failed", models.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "all-MiniLM-L6-v2").GetProperty("status").GetString());
            var ready = await client.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.NotNull(ready.Headers.RetryAfter);
            var embed = await client.PostAsJsonAsync("/embed", new { inputs = "hello" });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, embed.StatusCode);
            Assert.Equal("application/problem+json", embed.Content.Headers.ContentType?.MediaType);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        }
        finally
        {
            File.Delete(blocked);
        }
    }

    [Fact]
    public async Task Cuda_on_the_cpu_build_fails_the_model_with_a_message_saying_how_to_fix_it()
    {
        await using var factory = new ServiceFactory(("Models:Device", "cuda"));
        var client = await factory.CreateLoadedClientAsync();

        var model = (await client.GetFromJsonAsync<JsonElement>("/v1/models")).GetProperty("data").EnumerateArray()
            .Single(m => m.GetProperty("name").GetString() == "all-MiniLM-L6-v2");

        Assert.Equal("cuda", model.GetProperty("device").GetString());
        Assert.Equal("failed", model.GetProperty("status").GetString());
        Assert.Contains("OnnxRuntimeFlavor=Gpu", model.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/readyz")).StatusCode);
    }

    [Theory]
    [InlineData("Limits:MaxInputsPerRequest", "0")]
    [InlineData("Limits:MaxConcurrentInputs", "10")]
    [InlineData("Models:Device", "tpu")]
    [InlineData("Models:MaxBatchTokens", "-1")]
    [InlineData("Models:DefaultCrossEncoder", "no-such-cross-encoder")]
    [InlineData("Models:Adapters:0:Kind", "tri-encoder")]
    [InlineData("Search:MaxBudget", "1")]
    [InlineData("Indexes:ShardSize", "0")]
    [InlineData("Admin:ApiKeys:0", "too-short")]
    [InlineData("Admin:ApiKeys:0", "sha256:0123")]
    public async Task Invalid_options_stop_the_service_at_start(string key, string value)
    {
        await using var app = ServiceApp.Create(["--environment", "Testing", "--urls", "http://127.0.0.1:0",
            "--Models:CacheDirectory", MiniLmFixture.CacheDirectory, $"--{key}", value]);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains(key.Split(':')[^1], error.Message);
    }

    [Fact]
    public async Task A_request_cancelled_by_its_client_is_dropped_before_inference()
    {
        await using var factory = new ServiceFactory();
        var client = await factory.CreateLoadedClientAsync();
        using var dropped = new ModelCounter("service.model.jobs.dropped", "all-MiniLM-L6-v2");

        // A long request keeps the worker busy so the second one is still queued when its client leaves.
        var busy = client.PostAsJsonAsync("/embed", new { inputs = Enumerable.Repeat(string.Join(' ', Enumerable.Repeat("guitar music", 120)), 64) });
        await Task.Delay(200);
        using var leaving = new CancellationTokenSource();
        var abandoned = client.PostAsJsonAsync("/embed", new { inputs = "I will not wait" }, leaving.Token);
        await Task.Delay(100);
        leaving.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal(HttpStatusCode.OK, (await busy).StatusCode);
        Assert.Equal(1, dropped.Total);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/embed", new { inputs = "still serving" })).StatusCode);
    }
}
