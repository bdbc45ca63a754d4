using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Service.Tests.Browser;

/// <summary>The playground at / in headless Chromium against the real service: each panel filled, clicked and read back.</summary>
[Collection(PlaygroundCollection.Name)]
public sealed partial class PlaygroundTests(PlaygroundFixture fixture)
{
    [Fact]
    public async Task Similarity_draws_a_heatmap_cell_per_pair_with_the_value_on_hover()
    {
        var page = await fixture.OpenAsync();
        foreach (var panel in new[] { "#similarity", "#search", "#diffusion", "#service" })
            Assert.True(await page.Locator(panel).IsVisibleAsync(), panel);
        Assert.Contains("all-MiniLM-L6-v2", await page.Locator("#similarity-model option").AllTextContentsAsync());

        await page.FillAsync("#similarity-sentences", "A man is playing a guitar.\nSomeone plays an instrument.\nThe stock market fell sharply today.\nShares dropped at the close.");
        await page.ClickAsync("#similarity-form button[type=submit]");
        var cells = page.Locator("#similarity-heatmap td.cell");
        await Assertions.Expect(cells).ToHaveCountAsync(16);
        Assert.Equal("1.00", (await cells.Nth(0).TextContentAsync())!.Trim()); // a sentence with itself
        var related = double.Parse((await cells.Nth(1).GetAttributeAsync("data-value"))!, System.Globalization.CultureInfo.InvariantCulture);
        var unrelated = double.Parse((await cells.Nth(2).GetAttributeAsync("data-value"))!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(related > unrelated, $"guitar~instrument {related} should exceed guitar~stocks {unrelated}");
        await cells.Nth(1).HoverAsync();
        await Assertions.Expect(page.Locator("#similarity-readout")).ToContainTextAsync("cos(1, 2) = ");
        await page.Locator("#similarity").ScreenshotAsync(new() { Path = Screenshot("similarity") });
    }

    [Fact]
    public async Task Search_shows_results_ce_calls_timings_and_the_overlap_with_exhaustive()
    {
        var page = await fixture.OpenAsync();
        await Assertions.Expect(page.Locator("#search-index")).ToHaveValueAsync("verb-motion");
        await page.FillAsync("#search-query", "The horse galloped across the field");
        await page.SelectOptionAsync("#search-method", "adaptive-de");
        await page.FillAsync("#search-budget", "200");
        await Assertions.Expect(page.Locator("#search-budget-value")).ToHaveTextAsync("200");
        await page.CheckAsync("#search-compare");
        await page.ClickAsync("#search-form button[type=submit]");

        var rows = page.Locator("#search-results li.result");
        await Assertions.Expect(rows).ToHaveCountAsync(10, new() { Timeout = 60_000 });
        foreach (var id in await page.Locator("#search-results .result-id").AllTextContentsAsync())
            Assert.Matches(@"^\d{8}-v$", id);
        var calls = CeCalls().Match((await page.Locator("#search-summary .ce-calls").TextContentAsync())!);
        Assert.True(calls.Success);
        Assert.InRange(int.Parse(calls.Groups[1].Value), 1, 200);
        await Assertions.Expect(page.Locator("#search-summary .overlap")).ToContainTextAsync("Overlap with exhaustive:");
        Assert.StartsWith("gallop", await page.Locator("#search-results .result-text").First.TextContentAsync());
        Assert.Equal(3, await page.Locator("#search-timings .segment").CountAsync());
        await page.Locator("#search").ScreenshotAsync(new() { Path = Screenshot("search") });
    }

    [Fact]
    public async Task Diffusion_streams_every_step_and_ends_with_a_grid_of_the_right_size_side_by_side()
    {
        var page = await fixture.OpenAsync();
        await page.SelectOptionAsync("#diffusion-model", "mnist-unet");
        await page.FillAsync("#diffusion-steps", "10");
        await page.FillAsync("#diffusion-count", "16");
        await page.FillAsync("#diffusion-seed", "7");
        await page.SelectOptionAsync("#diffusion-variance", "analytic");
        await page.CheckAsync("#diffusion-side");
        await page.SelectOptionAsync("#diffusion-variance-b", "fixed-small");
        await page.ClickAsync("#diffusion-form button[type=submit]");

        var finals = page.Locator("#diffusion-runs img.final");
        await Assertions.Expect(finals).ToHaveCountAsync(2, new() { Timeout = 90_000 });
        foreach (var run in await page.Locator("#diffusion-runs article.run").AllAsync())
        {
            await Assertions.Expect(run.Locator(".progress-count")).ToContainTextAsync("10 progress events");
            Assert.Equal(10, await run.Locator(".progress-log li").CountAsync());
            // 16 samples of 28 × 28 in a 4 × 4 grid with 2-pixel borders: 4 · 30 + 2.
            var size = await run.Locator("img.final").EvaluateAsync<int[]>("img => [img.naturalWidth, img.naturalHeight]");
            Assert.Equal([122, 122], size);
            Assert.StartsWith("data:image/png;base64,", await run.Locator("a.download").GetAttributeAsync("href"));
        }
        Assert.Equal(["analytic", "fixed-small"], await page.Locator("#diffusion-runs article.run").EvaluateAllAsync<string[]>("runs => runs.map(r => r.dataset.variance)"));
        await page.Locator("#diffusion").ScreenshotAsync(new() { Path = Screenshot("diffusion") });
    }

    [Fact]
    public async Task A_2d_model_draws_x0_as_a_live_scatter_then_the_samples()
    {
        var page = await fixture.OpenAsync();
        await page.SelectOptionAsync("#diffusion-model", "gmm-2d");
        await page.FillAsync("#diffusion-steps", "25");
        await page.FillAsync("#diffusion-count", "64");
        await page.ClickAsync("#diffusion-form button[type=submit]");

        var run = page.Locator("#diffusion-runs article.run");
        await Assertions.Expect(run.Locator("canvas.final")).ToHaveCountAsync(1, new() { Timeout = 30_000 });
        await Assertions.Expect(run.Locator(".progress-count")).ToContainTextAsync("25 progress events");
        Assert.Equal(25, await run.Locator(".progress-log li").CountAsync());
        var size = await run.Locator("canvas.final").EvaluateAsync<int[]>("c => [c.width, c.height]");
        Assert.Equal([320, 320], size);
        // Blue points were drawn: the canvas is not blank.
        Assert.True(await run.Locator("canvas.final").EvaluateAsync<bool>(
            "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; for (let i = 0; i < d.length; i += 4) if (d[i] < 80 && d[i + 2] > 150) return true; return false; }"));
        Assert.StartsWith("data:image/png;base64,", await run.Locator("a.download").GetAttributeAsync("href"));
    }

    [Fact]
    public async Task A_bad_input_shows_the_problem_title_and_detail()
    {
        var page = await fixture.OpenAsync();
        await page.SelectOptionAsync("#diffusion-model", "gmm-2d");
        await page.FillAsync("#diffusion-steps", "0");
        await page.ClickAsync("#diffusion-form button[type=submit]");

        var problem = page.Locator("#diffusion-runs .problem");
        await Assertions.Expect(problem).ToBeVisibleAsync();
        await Assertions.Expect(problem).ToContainTextAsync("422");
        await Assertions.Expect(problem).ToContainTextAsync("'steps' (K) must be 1..");
    }

    [Fact]
    public async Task A_429_shows_its_retry_after()
    {
        var page = await fixture.OpenAsync();
        // Empty this client's bucket (Burst 100, refilled by 10 each second in this fixture) and keep it empty with a stream
        // of cheap requests while the heatmap is asked for; a refill could otherwise land just before the click.
        await page.EvaluateAsync("""
            async () => {
              window.draining = true;
              (async () => { while (window.draining) await Promise.all(Array.from({ length: 20 }, () => fetch('/v1/models'))); })();
              await Promise.all(Array.from({ length: 200 }, () => fetch('/v1/models')));
            }
            """);
        var problem = page.Locator("#similarity-problem");
        for (var attempt = 0; attempt < 5 && !await problem.IsVisibleAsync(); attempt++) // the rare click that meets a refill draws a heatmap
        {
            await page.EvaluateAsync("() => document.getElementById('similarity-heatmap').replaceChildren()");
            await page.ClickAsync("#similarity-form button[type=submit]");
            await page.Locator("#similarity-problem:not([hidden]), #similarity-heatmap table").First.WaitForAsync();
        }
        await page.EvaluateAsync("() => { window.draining = false; }");

        await Assertions.Expect(problem).ToContainTextAsync("429 ");
        await Assertions.Expect(problem).ToContainTextAsync("requests per second");
        await Assertions.Expect(problem.Locator(".retry-after")).ToHaveTextAsync(RetryAfter());
        await Task.Delay(TimeSpan.FromSeconds(4)); // 40 permits back before the next test
    }

    [Fact]
    public async Task Service_panel_shows_readiness_info_and_every_model_with_its_state()
    {
        var page = await fixture.OpenAsync();
        await Assertions.Expect(page.Locator("#service-ready")).ToContainTextAsync("Ready");
        var statuses = await page.Locator("#service-models tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.status)");
        Assert.Contains("mnist-unet", await page.Locator("#service-models tbody td:first-child").AllTextContentsAsync());
        Assert.All(statuses, status => Assert.Equal("ready", status));
        Assert.Equal("swagger/", await page.Locator("#service a[href='swagger/']").GetAttributeAsync("href"));
        await page.Locator("#service").ScreenshotAsync(new() { Path = Screenshot("service") });
    }

    [Fact]
    public async Task At_390_px_nothing_overflows_and_every_control_has_a_label_and_works_from_the_keyboard()
    {
        var page = await fixture.OpenAsync(390, 844);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= 390"), "the page scrolls sideways at 390 px");
        var unlabelled = await page.EvaluateAsync<string[]>(
            "() => [...document.querySelectorAll('input, select, textarea')].filter(c => c.labels.length === 0).map(c => c.id)");
        Assert.Empty(unlabelled);

        await page.FocusAsync("#similarity-sentences");
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("Compare", await page.EvaluateAsync<string>("() => document.activeElement.textContent"));
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#similarity-heatmap td.cell")).ToHaveCountAsync(36);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= 390"), "the drawn heatmap makes the page scroll sideways at 390 px");
        await page.ScreenshotAsync(new() { Path = Screenshot("narrow"), FullPage = false });
    }

    [Fact]
    public async Task Swagger_ui_sends_the_embed_example_and_shows_200()
    {
        var page = await fixture.Browser.NewPageAsync();
        await page.GotoAsync("/swagger/index.html");
        await Assertions.Expect(page.Locator(".info .description")).ToContainTextAsync("diffusion");
        var embed = page.Locator(".opblock-post", new() { Has = page.Locator(".opblock-summary-path[data-path='/embed']") });
        await embed.Locator(".opblock-summary").ClickAsync();
        await embed.Locator("button.try-out__btn").ClickAsync();
        await embed.Locator("button.execute").ClickAsync();
        await Assertions.Expect(embed.Locator(".live-responses-table tbody .response-col_status").First).ToHaveTextAsync("200", new() { Timeout = 30_000 });
    }

    static string Screenshot(string name) => Path.Combine(PlaygroundFixture.ScreenshotDirectory, $"{name}.png");

    [GeneratedRegex(@"ce_calls (\d+)")]
    private static partial Regex CeCalls();

    [GeneratedRegex(@"^Retry after \d+ s\.$")]
    private static partial Regex RetryAfter();
}
