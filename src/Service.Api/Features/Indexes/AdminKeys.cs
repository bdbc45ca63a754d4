using Microsoft.Extensions.Options;
using Service.Api.Hosting;
using Service.Models.Errors;

namespace Service.Api.Features.Indexes;

/// <summary>Endpoint metadata: the route needs an admin API key (header X-API-Key, one of Admin:ApiKeys).</summary>
public sealed class AdminOnly;

public static class AdminKeys
{
    /// <summary>
    /// Checks the key of admin routes after routing and before the endpoint binds its body, so a caller without a key learns
    /// nothing about the body (no 400 or 422 before the 401).
    /// </summary>
    public static WebApplication UseAdminKeys(this WebApplication app)
    {
        app.Use(Check);
        return app;
    }

    static Task Check(HttpContext http, RequestDelegate next)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<AdminOnly>() is null)
            return next(http);
        var options = http.RequestServices.GetRequiredService<IOptions<AdminOptions>>().Value;
        if (options.ApiKeys.Count == 0)
        {
            throw new ServiceException(ServiceErrorKind.Forbidden,
                $"The admin routes are disabled: no API key is configured. Set {AdminOptions.Section}:{nameof(AdminOptions.ApiKeys)} " +
                $"(for example the environment variable Admin__ApiKeys__0={AdminOptions.HashPrefix}<hex SHA-256 of a key of at least {AdminOptions.MinKeyLength} characters>), " +
                $"restart the service and send the key in the {AdminOptions.KeyHeader} header.");
        }
        if (http.Request.Headers[AdminOptions.KeyHeader] is not [{ Length: > 0 } presented])
            throw new ServiceException(ServiceErrorKind.Unauthorized, $"This route needs an admin API key: send it in the {AdminOptions.KeyHeader} header.");
        if (!options.Accepts(presented))
            throw new ServiceException(ServiceErrorKind.Forbidden, $"The {AdminOptions.KeyHeader} header holds no configured admin key. Check the key.");
        return next(http);
    }
}
