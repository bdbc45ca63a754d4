using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Models.Errors;

namespace Service.Api.Hosting;

/// <summary>
/// The admission rules in front of every route: a per-client rate limit (429) and a time limit per request (504).
/// The per-model queues and permits behind them (429 when full, 503 while loading) live with the models.
/// </summary>
public static class AdmissionExtensions
{
    public static IHostApplicationBuilder AddServiceAdmission(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<RateLimitOptions>(RateLimitOptions.Section);
        builder.AddValidatedOptions<TimeoutOptions>(TimeoutOptions.Section);
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>>((options, rate) =>
        {
            var settings = rate.Value;
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                !settings.Enabled || TelemetryExtensions.IsProbeOrScrape(http.Request.Path)
                    ? RateLimitPartition.GetNoLimiter("exempt")
                    : RateLimitPartition.GetTokenBucketLimiter(ClientKey(http), _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = settings.Burst,
                        TokensPerPeriod = settings.PermitsPerSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    }));
            options.OnRejected = (context, cancellation) => RejectAsync(context, settings, cancellation);
        });
        builder.Services.AddRequestTimeouts();
        builder.Services.AddOptions<RequestTimeoutOptions>().Configure<IOptions<TimeoutOptions>>((options, timeouts) =>
        {
            options.DefaultPolicy = new RequestTimeoutPolicy
            {
                Timeout = TimeSpan.FromSeconds(timeouts.Value.RequestSeconds),
                TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
            };
            options.AddPolicy(TimeoutOptions.LongPolicy, new RequestTimeoutPolicy
            {
                Timeout = TimeSpan.FromSeconds(timeouts.Value.LongRequestSeconds),
                TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
            });
        });
        return builder;
    }

    /// <summary>
    /// After routing (endpoints choose their timeout policy) and before the admin key check: a wrong key draws from its
    /// address's bucket (<see cref="ClientKey"/>), so key guessing is rate limited.
    /// </summary>
    public static WebApplication UseServiceAdmission(this WebApplication app)
    {
        app.UseRateLimiter();
        app.UseRequestTimeouts();
        return app;
    }

    /// <summary>
    /// The bucket a request draws from: its API key when that key is a configured one (hashed, so no secret is kept as a
    /// dictionary key), else its IP address — an unknown key, guessed or random, is no identity and must not buy a fresh
    /// bucket. Behind a proxy, configure forwarded headers so the address is the client's.
    /// </summary>
    static string ClientKey(HttpContext http)
    {
        if (http.Request.Headers[AdminOptions.KeyHeader] is [{ Length: > 0 } key]
            && http.RequestServices.GetRequiredService<IOptions<AdminOptions>>().Value.Accepts(key))
            return "key:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        return "ip:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }

    static async ValueTask RejectAsync(OnRejectedContext context, RateLimitOptions settings, CancellationToken cancellation)
    {
        var http = context.HttpContext;
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
        var kind = ProblemTable.For(ServiceErrorKind.RateLimited);
        http.Response.StatusCode = kind.Status;
        http.Response.Headers.RetryAfter = retryAfter.ToString();
        var problem = kind.ToProblem(
            $"This client (its admin {AdminOptions.KeyHeader}, else its IP address) may send {settings.PermitsPerSecond} requests per second, " +
            $"{settings.Burst} at once. Wait {retryAfter} s (Retry-After) and spread requests out, or batch several inputs per request.",
            http.Request);
        await http.WriteProblemAsync(problem);
    }
}
