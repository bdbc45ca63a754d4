using System.Globalization;

namespace Service.Api.Features.Shared;

/// <summary>Stage timings as response headers in milliseconds (x-tokenization-time, x-queue-time, ...), as TEI sends them.</summary>
public static class TimingHeaders
{
    public static void Set(HttpResponse response, string stage, TimeSpan time) =>
        response.Headers[$"x-{stage}-time"] = time.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture);
}
