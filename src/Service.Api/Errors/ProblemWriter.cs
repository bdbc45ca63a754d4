using Microsoft.AspNetCore.Mvc;

namespace Service.Api.Errors;

/// <summary>Writes a problem whatever the request's Accept header says.</summary>
internal static class ProblemWriter
{
    /// <summary>
    /// The framework's writer declines when Accept rules out JSON (an EventSource sends <c>text/event-stream</c>), which
    /// would leave a bare status with an empty body; such a client still gets <c>application/problem+json</c>.
    /// </summary>
    public static async ValueTask WriteProblemAsync(this HttpContext http, ProblemDetails problem, Exception? exception = null)
    {
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        if (!await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception }))
        {
            problem.Extensions.TryAdd("trace_id", System.Diagnostics.Activity.Current?.Id ?? http.TraceIdentifier);
            await http.Response.WriteAsJsonAsync(problem, typeof(ProblemDetails), options: null, contentType: "application/problem+json");
        }
    }
}
