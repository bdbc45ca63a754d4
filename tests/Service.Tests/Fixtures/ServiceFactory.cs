using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Service.Tests.Fixtures;

/// <summary>The whole service in memory, with optional configuration overrides, waiting until models are ready.</summary>
public class ServiceFactory(params (string Key, string Value)[] settings) : WebApplicationFactory<Program>
{
    public ServiceFactory() : this([]) { }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Models:CacheDirectory", MiniLmFixture.CacheDirectory);
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        foreach (var (key, value) in settings)
            builder.UseSetting(key, value);
    }

    /// <summary>A client for a service whose models have finished loading (ready or failed).</summary>
    public async Task<HttpClient> CreateLoadedClientAsync()
    {
        var client = CreateClient();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            var models = await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/v1/models");
            if (models.GetProperty("data").EnumerateArray().All(m => m.GetProperty("status").GetString() != "loading"))
                return client;
            await Task.Delay(50);
        }
        throw new TimeoutException("Models did not finish loading within 2 minutes.");
    }
}
