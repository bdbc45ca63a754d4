using Microsoft.AspNetCore.Mvc;
using Service.Models.Errors;

namespace Service.Api.Errors;

/// <summary>
/// One row of the error table: the HTTP status, a stable RFC 9457 problem type, its title, and what a client of this
/// HTTP API can do about it (<paramref name="Advice"/>, appended to the facts an error carries from below).
/// </summary>
public sealed record ProblemKind(int Status, string Type, string Title, string? Advice = null)
{
    /// <summary>The facts of an error from below the HTTP layer, then this row's advice.</summary>
    public string Detail(string facts) => Advice is null ? facts : $"{facts} {Advice}";

    /// <summary>The RFC 9457 body of this problem for one request.</summary>
    public ProblemDetails ToProblem(string detail, HttpRequest request) =>
        new() { Status = Status, Type = Type, Title = Title, Detail = detail, Instance = request.Path };
}

/// <summary>
/// The one place that maps service errors to HTTP. The exception handler writes problems from it and the
/// OpenAPI <c>ProducesProblem</c> entries are generated from it, so the two cannot drift apart.
/// </summary>
public static class ProblemTable
{
    static readonly Dictionary<ServiceErrorKind, ProblemKind> Rows = new()
    {
        [ServiceErrorKind.MalformedRequest] = Row(StatusCodes.Status400BadRequest, "malformed-request", "The request could not be read"),
        [ServiceErrorKind.Unauthorized] = Row(StatusCodes.Status401Unauthorized, "unauthorized", "An API key is required"),
        [ServiceErrorKind.Forbidden] = Row(StatusCodes.Status403Forbidden, "forbidden", "The API key does not grant access"),
        [ServiceErrorKind.UnsupportedMediaType] = Row(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "The body must be JSON"),
        [ServiceErrorKind.PayloadTooLarge] = Row(StatusCodes.Status413PayloadTooLarge, "payload-too-large", "The request body is too large"),
        [ServiceErrorKind.ValidationFailed] = Row(StatusCodes.Status422UnprocessableEntity, "validation-failed", "The request is not valid"),
        [ServiceErrorKind.InputTooLong] = Row(StatusCodes.Status422UnprocessableEntity, "input-too-long", "An input is longer than the model accepts"),
        [ServiceErrorKind.UnknownModel] = Row(StatusCodes.Status422UnprocessableEntity, "unknown-model", "No such model", "The models are listed at GET /v1/models."),
        [ServiceErrorKind.NotFound] = Row(StatusCodes.Status404NotFound, "not-found", "No such resource"),
        [ServiceErrorKind.MethodNotAllowed] = Row(StatusCodes.Status405MethodNotAllowed, "method-not-allowed", "The route does not accept this method"),
        [ServiceErrorKind.Conflict] = Row(StatusCodes.Status409Conflict, "conflict", "The resource is not in a state that allows this"),
        [ServiceErrorKind.IndexFileRefused] = Row(StatusCodes.Status422UnprocessableEntity, "index-file-refused", "The index file was refused"),
        [ServiceErrorKind.Overloaded] = Row(StatusCodes.Status429TooManyRequests, "overloaded", "The service is at capacity", "Retry after the Retry-After interval or send fewer concurrent requests."),
        [ServiceErrorKind.RateLimited] = Row(StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests from this client"),
        [ServiceErrorKind.NotReady] = Row(StatusCodes.Status503ServiceUnavailable, "not-ready", "The model is not ready"),
        [ServiceErrorKind.InferenceFailed] = Row(StatusCodes.Status500InternalServerError, "inference-failed", "The model failed"),
        [ServiceErrorKind.Timeout] = Row(StatusCodes.Status504GatewayTimeout, "timeout", "The request ran past its time limit"),
    };

    /// <summary>The problem type of failures that are no <see cref="ServiceErrorKind"/>: always a defect of ours.</summary>
    public static readonly ProblemKind Internal = Row(StatusCodes.Status500InternalServerError, "internal", "Unexpected server error");

    public static ProblemKind For(ServiceErrorKind kind) => Rows[kind];

    /// <summary>
    /// The row and a caller-facing detail for a status the framework set without an exception
    /// (no matching route, wrong method, wrong content type, a streamed body over the limit); null for any other status.
    /// </summary>
    public static (ProblemKind Kind, string Detail)? ForFrameworkStatus(int status, string method, string path) => status switch
    {
        StatusCodes.Status404NotFound => (For(ServiceErrorKind.NotFound), $"No route matches {method} {path}. The routes are listed at /swagger."),
        StatusCodes.Status405MethodNotAllowed => (For(ServiceErrorKind.MethodNotAllowed), $"{path} does not accept {method}. The methods are listed at /swagger."),
        StatusCodes.Status413PayloadTooLarge => (For(ServiceErrorKind.PayloadTooLarge), "The request body is larger than the limit (see /info, limits.max_request_body_bytes). Send fewer or shorter inputs per request."),
        StatusCodes.Status415UnsupportedMediaType => (For(ServiceErrorKind.UnsupportedMediaType), "Send the body as JSON with the header 'Content-Type: application/json'."),
        StatusCodes.Status400BadRequest => (For(ServiceErrorKind.MalformedRequest), "The request could not be read. Send a JSON body as shown in /swagger."),
        StatusCodes.Status504GatewayTimeout => (For(ServiceErrorKind.Timeout),
            "The request ran past its time limit (Timeouts:RequestSeconds, or Timeouts:LongRequestSeconds for sampling and item inserts) and was stopped. " +
            "Send less work per request (fewer inputs, samples or steps, a smaller budget) or retry when the service is less busy."),
        _ => null,
    };

    /// <summary>Errors every JSON route can return before its handler runs.</summary>
    public static readonly ServiceErrorKind[] BodyErrors =
        [ServiceErrorKind.MalformedRequest, ServiceErrorKind.UnsupportedMediaType, ServiceErrorKind.PayloadTooLarge];

    /// <summary>Errors every inference route can return.</summary>
    public static readonly ServiceErrorKind[] InferenceErrors =
    [
        ServiceErrorKind.ValidationFailed, ServiceErrorKind.InputTooLong, ServiceErrorKind.UnknownModel,
        ServiceErrorKind.Overloaded, ServiceErrorKind.NotReady, ServiceErrorKind.InferenceFailed,
    ];

    /// <summary>Errors of every route but the probes and /metrics: the per-client rate limit and the request time limit.</summary>
    public static readonly ServiceErrorKind[] AdmissionErrors = [ServiceErrorKind.RateLimited, ServiceErrorKind.Timeout];

    /// <summary>Errors of every route that needs an admin API key, before its handler runs.</summary>
    public static readonly ServiceErrorKind[] AdminErrors = [ServiceErrorKind.Unauthorized, ServiceErrorKind.Forbidden];

    static ProblemKind Row(int status, string slug, string title, string? advice = null) => new(status, $"urn:service:problem:{slug}", title, advice);
}
