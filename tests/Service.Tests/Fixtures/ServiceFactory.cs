using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Service.Api.Hosting;

namespace Service.Tests.Fixtures;

/// <summary>The whole service in memory, with optional configuration overrides, waiting until models are ready.</summary>
/// <remarks>
/// The adapters and index files of appsettings.json are replaced by <see cref="Adapters"/> and <see cref="IndexFiles"/>
/// (none unless a test sets them), so tests do not depend on which trained files exist in the repository.
/// </remarks>
public class ServiceFactory(params (string Key, string Value)[] settings) : WebApplicationFactory<Program>
{
    public ServiceFactory() : this([]) { }

    /// <summary>Models:Adapters for this service.</summary>
    public IReadOnlyList<AdapterOptions> Adapters { get; init; } = [];

    /// <summary>Models:DefaultCrossEncoder for this service; empty means none.</summary>
    public string DefaultCrossEncoder { get; init; } = "";

    /// <summary>Indexes:Files for this service (appsettings.json's committed demo index is replaced too).</summary>
    public IReadOnlyList<string> IndexFiles { get; init; } = [];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Models:CacheDirectory", MiniLmFixture.CacheDirectory);
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        // In-process requests have no client address, so they would all share one bucket; AdmissionTests turn it on.
        builder.UseSetting("RateLimit:Enabled", "false");
        // Never the user's data directory (the default): its files would load here and count for readiness.
        builder.UseSetting("Indexes:Directory", Path.Combine(Path.GetTempPath(), $"service-test-indexes-{Guid.NewGuid():N}"));
        foreach (var (key, value) in settings)
            builder.UseSetting(key, value);
        builder.ConfigureTestServices(services => services.PostConfigure<ModelsOptions>(options =>
        {
            options.Adapters = [.. Adapters];
            options.DefaultCrossEncoder = DefaultCrossEncoder;
        }).PostConfigure<IndexesOptions>(options => options.Files = [.. IndexFiles]));
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
