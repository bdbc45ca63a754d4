namespace Service.Models.Errors;

/// <summary>
/// The closed set of errors the service reports. The HTTP layer owns the one table that maps each kind
/// to a status code and an RFC 9457 problem type; nothing else decides status codes.
/// </summary>
public enum ServiceErrorKind
{
    MalformedRequest,
    Unauthorized,
    Forbidden,
    UnsupportedMediaType,
    PayloadTooLarge,
    ValidationFailed,
    InputTooLong,
    UnknownModel,
    NotFound,
    MethodNotAllowed,
    Conflict,
    IndexFileRefused,
    Overloaded,
    RateLimited,
    NotReady,
    Timeout,
    InferenceFailed,
}

/// <summary>A failure the caller can act on; <see cref="Exception.Message"/> is the problem's <c>detail</c>.</summary>
public sealed class ServiceException(
    ServiceErrorKind kind,
    string detail,
    IReadOnlyDictionary<string, object?>? extensions = null,
    Exception? inner = null) : Exception(detail, inner)
{
    public ServiceErrorKind Kind { get; } = kind;

    /// <summary>Machine-readable facts about the failure (e.g. <c>token_count</c>), added to the problem body.</summary>
    public IReadOnlyDictionary<string, object?> Extensions { get; } = extensions ?? new Dictionary<string, object?>();
}
