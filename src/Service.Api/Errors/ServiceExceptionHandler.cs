using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using Service.Api.Hosting;
using Service.Models.Errors;

namespace Service.Api.Errors;

/// <summary>Turns every exception that reaches the pipeline into an RFC 9457 problem from <see cref="ProblemTable"/>.</summary>
internal sealed class ServiceExceptionHandler(
    IOptions<LimitsOptions> limits,
    ILogger<ServiceExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>nginx's "client closed request": logged, never seen by the client that left.</summary>
    const int ClientClosedRequest = 499;

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellation)
    {
        if (exception is OperationCanceledException && http.RequestAborted.IsCancellationRequested)
        {
            http.Response.StatusCode = ClientClosedRequest;
            return true;
        }

        var error = Classify(exception);
        var kind = error is null ? ProblemTable.Internal : ProblemTable.For(error.Kind);
        if (kind.Status >= 500 && error?.Kind != ServiceErrorKind.NotReady)
            logger.LogError(exception, "Request failed with {Status} {ProblemType}", kind.Status, kind.Type);

        var problem = kind.ToProblem(
            error is not null ? kind.Detail(error.Message) : "The server failed unexpectedly. Retry later; if it persists, report it with the trace id.", http.Request);
        foreach (var (key, value) in error?.Extensions ?? new Dictionary<string, object?>())
            problem.Extensions[key] = value;

        if (kind.Status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
            http.Response.Headers.RetryAfter = limits.Value.RetryAfterSeconds.ToString();
        if (kind.Status == StatusCodes.Status401Unauthorized)
            http.Response.Headers.WWWAuthenticate = $"ApiKey header=\"{AdminOptions.KeyHeader}\""; // RFC 9110 §11.6.1: a 401 names how to authenticate
        http.Response.StatusCode = kind.Status;
        await http.WriteProblemAsync(problem, exception);
        return true;
    }

    static ServiceException? Classify(Exception exception) => exception switch
    {
        ServiceException known => known,
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => new ServiceException(
            ServiceErrorKind.PayloadTooLarge, "The request body is larger than the limit. Send fewer or shorter inputs per request."),
        BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType } => new ServiceException(
            ServiceErrorKind.UnsupportedMediaType, "Send the body as JSON with the header 'Content-Type: application/json'."),
        BadHttpRequestException { InnerException: JsonException json } => new ServiceException(
            ServiceErrorKind.MalformedRequest,
            $"The body is not valid JSON for this route: the value at '{json.Path ?? "$"}' (line {json.LineNumber + 1}, byte {json.BytePositionInLine + 1}) " +
            "is malformed, not UTF-8, or of the wrong type. Send a body shaped like the example in /swagger.",
            new Dictionary<string, object?> { ["json_path"] = json.Path ?? "$" }),
        BadHttpRequestException => new ServiceException(
            ServiceErrorKind.MalformedRequest, "The request body is missing or could not be read. Send a JSON body shaped like the example in /swagger."),
        _ => null,
    };
}
