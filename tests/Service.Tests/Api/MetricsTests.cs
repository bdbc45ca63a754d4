using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Service.Api.Hosting;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>The Prometheus endpoint: the series an operator's dashboards and alerts are built on.</summary>
/// <remarks>
/// Other tests run services in the same process at the same time, and OpenTelemetry listens to meters by name, so the
/// scraped values may include their measurements: the scrape is checked for the series and a positive count, and the
/// model-state values are read from this service's own meter.
/// </remarks>
public sealed class MetricsTests
{
    [Fact]
    public async Task Metrics_show_requests_by_route_and_status_the_model_stages_sampling_steps_and_model_state()
    {
        using var factory = new ServiceFactory();
        var client = await factory.CreateLoadedClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/embed", new { inputs = new[] { "a short sentence", "another one" } })).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await client.PostAsJsonAsync("/embed", new { inputs = Array.Empty<string>() })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v1/diffusion/samples", new { model = "gmm-2d", count = 2, steps = 7, format = "json" })).StatusCode);

        var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        var lines = text.Split('\n');
        bool Has(string metric, params string[] labels) =>
            lines.Any(line => line.StartsWith(metric, StringComparison.Ordinal) && labels.All(line.Contains));
        Assert.True(Has("http_server_request_duration_seconds_bucket", "http_route=\"/embed\"", "http_response_status_code=\"200\""), "request duration by route and status");
        Assert.True(Has("http_server_request_duration_seconds_count", "http_route=\"/embed\"", "http_response_status_code=\"422\""), "422 counted apart");
        Assert.True(Has("service_model_queue_duration_seconds_bucket", "model=\"all-MiniLM-L6-v2\""), "queue time");
        Assert.True(Has("service_model_inference_duration_seconds_bucket", "model=\"all-MiniLM-L6-v2\""), "inference time");
        Assert.True(Has("service_model_batch_size", "model=\"all-MiniLM-L6-v2\""), "batch size");
        Assert.True(Has("service_model_batch_tokens", "model=\"all-MiniLM-L6-v2\""), "batch tokens");
        Assert.True(Has("service_model_queue_depth", "model=\"all-MiniLM-L6-v2\""), "queue depth");
        Assert.Contains(lines, line => line.StartsWith("service_diffusion_steps_bucket", StringComparison.Ordinal)
            && line.Contains("model=\"gmm-2d\"") && Regex.IsMatch(line, "le=\"10\"\\} [1-9]"));
        Assert.True(Has("service_model_state", "model=\"all-MiniLM-L6-v2\"", "state=\"ready\""), "model load state");
        Assert.Equal(
            new Dictionary<string, int> { ["loading"] = 0, ["ready"] = 1, ["failed"] = 0 },
            ModelStates(factory.Services.GetRequiredService<IMeterFactory>(), "all-MiniLM-L6-v2"));
    }

    /// <summary>The service.model.state values of one model, from the meter this service's factory created.</summary>
    static Dictionary<string, int> ModelStates(IMeterFactory factory, string model)
    {
        var states = new Dictionary<string, int>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Meter.Name == ApiMetrics.MeterName && instrument.Name == "service.model.state")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
        {
            var labels = tags.ToArray().ToDictionary(t => t.Key, t => t.Value as string);
            if (labels["model"] == model)
                states[labels["state"]!] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return states;
    }
}
