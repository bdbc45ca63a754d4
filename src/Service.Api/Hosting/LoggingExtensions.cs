using Serilog;
using Serilog.Formatting.Compact;

namespace Service.Api.Hosting;

public static class LoggingExtensions
{
    /// <summary>Serilog from the "Serilog" section: readable console in Development, compact JSON elsewhere.</summary>
    public static IHostApplicationBuilder AddServiceLogging(this IHostApplicationBuilder builder)
    {
        var development = builder.Environment.IsDevelopment();
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration).ReadFrom.Services(services).Enrich.FromLogContext();
            // Both formats carry the request's trace id (compact JSON as @tr), so a problem's traceId finds its log lines.
            if (development)
                logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj} {TraceId}{NewLine}{Exception}");
            else
                logger.WriteTo.Console(new CompactJsonFormatter());
        });
        return builder;
    }

    /// <summary>Request logging outermost, so it records the status the error handler finally wrote.</summary>
    public static WebApplication UseServiceLogging(this WebApplication app)
    {
        app.UseSerilogRequestLogging();
        return app;
    }
}
