using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Service.Api.Hosting;
using Service.Tests.Fixtures;
using Service.Tests.WordNet;

namespace Service.Tests.Browser;

/// <summary>
/// The real service on Kestrel (loopback, a free port) with its default configuration, and Debian's Chromium driven by
/// Playwright: no browser download, a fresh profile, nothing fetched from outside the service.
/// </summary>
public sealed class PlaygroundFixture : IAsyncLifetime
{
    /// <summary>Debian's package (<c>apt-get install -y chromium</c>; .ci/run installs it when missing).</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    readonly string profile = Path.Combine(Path.GetTempPath(), $"playground-chromium-{Guid.NewGuid():N}");
    readonly string indexes = Path.Combine(Path.GetTempPath(), $"playground-indexes-{Guid.NewGuid():N}");
    WebApplication? app;
    IPlaywright? playwright;

    public string Address { get; private set; } = "";
    public IBrowserContext Browser { get; private set; } = null!;

    /// <summary>Screenshots of each panel, under the test output.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "playground");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: run `apt-get install -y chromium` (.ci/run does this).");
        var webRoot = Path.Combine(WordNetTestData.RepositoryRoot, "src", "Service.Api", "wwwroot");
        app = ServiceApp.Create(["--environment", "Testing", "--urls", "http://127.0.0.1:0", "--webroot", webRoot,
            "--Models:CacheDirectory", MiniLmFixture.CacheDirectory, "--Indexes:Directory", indexes, "--Serilog:MinimumLevel:Default", "Warning",
            // A slow refill, so the 429 test can empty the bucket whatever the machine's speed; a page needs about ten permits.
            "--RateLimit:PermitsPerSecond", "10", "--RateLimit:Burst", "100"]);
        await app.StartAsync();
        Address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        await WaitUntilReadyAsync();

        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            BaseURL = Address,
        });
        // Anything not addressed to the service is a defect (a CDN, a font host): fail it loudly.
        await Browser.RouteAsync(url => !url.StartsWith(Address, StringComparison.Ordinal) && !url.StartsWith("data:", StringComparison.Ordinal),
            route => route.AbortAsync("blockedbyclient"));
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    async Task WaitUntilReadyAsync()
    {
        using var client = new HttpClient { BaseAddress = new Uri(Address) };
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while ((await client.GetAsync("/readyz")).StatusCode != HttpStatusCode.OK)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The service was not ready in 3 minutes: {await client.GetStringAsync("/v1/models")}");
            await Task.Delay(250);
        }
    }

    /// <summary>A new page on the playground, once its panels have filled their pickers.</summary>
    public async Task<IPage> OpenAsync(int width = 1280, int height = 900)
    {
        var page = await Browser.NewPageAsync();
        await page.SetViewportSizeAsync(width, height);
        await page.GotoAsync("/");
        await page.WaitForSelectorAsync("body[data-ready='true']");
        return page;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.CloseAsync();
        playwright?.Dispose();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        foreach (var dir in new[] { profile, indexes }.Where(Directory.Exists))
            Directory.Delete(dir, true);
    }
}

[CollectionDefinition(Name)]
public sealed class PlaygroundCollection : ICollectionFixture<PlaygroundFixture>
{
    public const string Name = "Playground";
}
