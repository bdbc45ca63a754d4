using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Service.Api.Hosting;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>Behaviour that only a real server shows: the service on Kestrel over loopback.</summary>
public sealed class KestrelTests
{
    [Fact]
    public async Task A_streamed_body_over_the_limit_is_a_413_problem_from_the_table()
    {
        await using var app = ServiceApp.Create(["--environment", "Testing", "--urls", "http://127.0.0.1:0",
            "--Models:CacheDirectory", MiniLmFixture.CacheDirectory, "--Serilog:MinimumLevel:Default", "Warning"]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address) };
        var body = Encoding.UTF8.GetBytes($$"""{"inputs": "{{new string('a', 3 * 1024 * 1024)}}"}""");
        // No Content-Length: the body arrives chunked and only the server's read limit can stop it.
        var content = new StreamContent(new NonSeekableStream(body));
        content.Headers.ContentType = new("application/json");

        var response = await client.PostAsync("/embed", content);

        Assert.Null(response.RequestMessage!.Content!.Headers.ContentLength);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("urn:service:problem:payload-too-large", problem.GetProperty("type").GetString());
        Assert.Contains("limit", problem.GetProperty("detail").GetString());
        await app.StopAsync();
    }

    /// <summary>Hides the length so HttpClient must send the body chunked.</summary>
    sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
