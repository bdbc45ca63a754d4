using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Service.Models.Serving;

namespace Service.Api.Hosting;

public static class TelemetryExtensions
{
    /// <summary>The Prometheus scrape path.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// OpenTelemetry metrics and traces. Metrics: ASP.NET Core's own (<c>http.server.request.duration</c> by route and
    /// status, Kestrel connections, rate-limiter rejections), .NET runtime (GC, heap, thread pool), and this service's
    /// meters — served for Prometheus at <see cref="MetricsPath"/>. Traces: one span per request; exported over OTLP only
    /// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and Serilog stamps every log event with the trace id either way.
    /// </summary>
    public static IHostApplicationBuilder AddServiceTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ApiMetrics>();
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Environment.ApplicationName))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(ModelMetrics.MeterName, ApiMetrics.MeterName)
                .AddPrometheusExporter())
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(options => options.Filter = http => !IsProbeOrScrape(http.Request.Path)));
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            telemetry.UseOtlpExporter();
        return builder;
    }

    /// <summary>Maps <see cref="MetricsPath"/> and creates the service's instruments before the first request.</summary>
    public static WebApplication UseServiceTelemetry(this WebApplication app)
    {
        app.Services.GetRequiredService<ApiMetrics>();
        app.MapPrometheusScrapingEndpoint(MetricsPath).WithTags("Health").WithSummary("Prometheus metrics (OpenTelemetry)");
        return app;
    }

    /// <summary>Probes and scrapes arrive every few seconds and say nothing about user traffic.</summary>
    public static bool IsProbeOrScrape(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments(MetricsPath);
}
