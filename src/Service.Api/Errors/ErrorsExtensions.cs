using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Service.Api.Hosting;
using Service.Models.Errors;

namespace Service.Api.Errors;

public static class ErrorsExtensions
{
    public static IHostApplicationBuilder AddServiceErrors(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<LimitsOptions>(LimitsOptions.Section)
            .Validate(o => o.MaxConcurrentInputs >= 2 * o.MaxInputsPerRequest + 1,
                "Limits:MaxConcurrentInputs must be at least 2 × Limits:MaxInputsPerRequest + 1 (the largest request: pairs, or a source sentence and its sentences).");
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = DescribeFrameworkStatus);
        builder.Services.AddExceptionHandler<ServiceExceptionHandler>();
        // Binding failures (bad JSON, wrong content type) become exceptions, so they reach the one problem writer.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return builder;
    }

    /// <summary>Problems written for a bare status code (no exception) get this service's type and a useful detail.</summary>
    static void DescribeFrameworkStatus(ProblemDetailsContext context)
    {
        if (context.Exception is not null || context.ProblemDetails.Type?.StartsWith("urn:service:") == true)
            return;
        var request = context.HttpContext.Request;
        if (ProblemTable.ForFrameworkStatus(context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode, request.Method, request.Path) is not { } row)
            return;
        context.ProblemDetails.Type = row.Kind.Type;
        context.ProblemDetails.Title = row.Kind.Title;
        context.ProblemDetails.Detail ??= row.Detail;
    }

    public static WebApplication UseServiceErrors(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(LimitRequestBody);
        app.Use(RequireUtf8);
        return app;
    }

    /// <summary>
    /// JSON bodies are UTF-8 (RFC 8259 §8.1). Any other declared charset is refused here, because the framework's reader fails
    /// on an unknown one with an exception that says nothing about the request.
    /// </summary>
    static Task RequireUtf8(HttpContext http, RequestDelegate next)
    {
        if (MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var type)
            && type.Charset is { Length: > 0 } charset
            && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            && !charset.Equals("\"utf-8\"", StringComparison.OrdinalIgnoreCase))
        {
            throw new ServiceException(ServiceErrorKind.UnsupportedMediaType,
                $"The body's charset is '{Truncate(charset.ToString())}'; send JSON encoded as UTF-8, with 'Content-Type: application/json' (or '; charset=utf-8').");
        }
        return next(http);
    }

    static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>
    /// Refuses a declared body over the limit before reading it, and caps streamed bodies where the server
    /// allows it (Kestrel then fails the read with 413).
    /// </summary>
    static Task LimitRequestBody(HttpContext http, RequestDelegate next)
    {
        var limit = http.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxRequestBodyBytes;
        if (http.Request.ContentLength > limit)
        {
            throw new ServiceException(ServiceErrorKind.PayloadTooLarge,
                $"The body has {http.Request.ContentLength} bytes; the limit is {limit}. Send fewer or shorter inputs per request.",
                new Dictionary<string, object?> { ["max_body_bytes"] = limit });
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            feature.MaxRequestBodySize = limit;
        return next(http);
    }

    /// <summary>Declares the problems an endpoint can return, with their statuses taken from <see cref="ProblemTable"/>.</summary>
    public static RouteHandlerBuilder ProducesServiceErrors(this RouteHandlerBuilder builder, params ServiceErrorKind[] kinds)
    {
        foreach (var status in kinds.Select(k => ProblemTable.For(k).Status).Distinct().Order())
            builder.ProducesProblem(status);
        return builder;
    }
}
