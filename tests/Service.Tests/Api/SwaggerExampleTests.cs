using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Service.Api.Hosting;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>Every request body example in the OpenAPI document succeeds when sent as-is, as Swagger UI's "Try it out" sends it.</summary>
public sealed class SwaggerExampleTests
{
    const string AdminKey = "swagger-example-tests-admin-key-0123456789";

    [Fact]
    public async Task Every_body_example_succeeds_as_sent_and_search_uses_the_demo_index()
    {
        using var factory = ServedDemo();
        var client = await ReadyClientAsync(factory);
        var document = (await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json"));
        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.Contains("search", document.GetProperty("info").GetProperty("description").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("diffusion", document.GetProperty("info").GetProperty("description").GetString(), StringComparison.OrdinalIgnoreCase);

        var sent = new List<string>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                if (!operation.Value.TryGetProperty("requestBody", out var body) || path.Name.Contains('{'))
                    continue;
                var reference = body.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()!;
                var schema = schemas.GetProperty(reference.Split('/')[^1]);
                Assert.True(schema.TryGetProperty("example", out var example), $"{operation.Name.ToUpperInvariant()} {path.Name} has no example");
                using var request = new HttpRequestMessage(new HttpMethod(operation.Name.ToUpperInvariant()), path.Name)
                {
                    Content = new StringContent(example.GetRawText(), Encoding.UTF8, "application/json"),
                };
                if (operation.Value.TryGetProperty("security", out _))
                    request.Headers.Add(AdminOptions.KeyHeader, AdminKey);
                var response = await client.SendAsync(request);
                Assert.True(response.IsSuccessStatusCode, $"{operation.Name.ToUpperInvariant()} {path.Name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                sent.Add($"{operation.Name.ToUpperInvariant()} {path.Name}");
            }
        }

        Assert.Contains("POST /v1/search", sent);
        Assert.Contains("POST /rerank", sent);
        Assert.Contains("POST /v1/diffusion/samples", sent);
        Assert.Contains("POST /v1/indexes", sent);
    }

    /// <summary>Every route with a path parameter, in the order a Swagger UI user would send them: build the example index first.</summary>
    static readonly string[] PathRoutes =
    [
        "GET /v1/diffusion/models/{name}",
        "GET /v1/indexes/{name}",
        "POST /v1/indexes/{name}/items",
        "DELETE /v1/indexes/{name}/items/{id}",
        "POST /v1/indexes/{name}/reload",
        "DELETE /v1/indexes/{name}",
    ];

    [Fact]
    public async Task Every_path_parameter_has_an_example_and_the_routes_succeed_as_sent_after_the_build_example()
    {
        using var factory = ServedDemo();
        var client = await ReadyClientAsync(factory);
        var document = await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var templated = (
            from path in document.GetProperty("paths").EnumerateObject()
            where path.Name.Contains('{')
            from operation in path.Value.EnumerateObject()
            select (Route: $"{operation.Name.ToUpperInvariant()} {path.Name}", Path: path.Name, Operation: operation.Value)).ToDictionary(o => o.Route);
        Assert.Equal(PathRoutes.Order(), templated.Keys.Order()); // a new route with a path parameter belongs in PathRoutes

        var build = await Send(HttpMethod.Post, "/v1/indexes", Example(schemas, "IndexBuildRequest"));
        Assert.Equal(HttpStatusCode.Accepted, build.StatusCode);
        var location = build.Headers.Location!.ToString();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((await (await Send(HttpMethod.Get, location, null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString() != "ready")
        {
            Assert.True(DateTime.UtcNow < deadline, "the example index was not ready in 2 minutes");
            await Task.Delay(100);
        }

        foreach (var route in PathRoutes)
        {
            var (_, path, operation) = templated[route];
            foreach (var parameter in operation.GetProperty("parameters").EnumerateArray().Where(p => p.GetProperty("in").GetString() == "path"))
            {
                Assert.True(parameter.TryGetProperty("example", out var value), $"{route}: path parameter '{parameter.GetProperty("name")}' has no example");
                path = path.Replace($"{{{parameter.GetProperty("name").GetString()}}}", Uri.EscapeDataString(value.GetString()!));
            }
            string? body = operation.TryGetProperty("requestBody", out var requestBody)
                ? Example(schemas, requestBody.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()!.Split('/')[^1])
                : null;
            var response = await Send(new HttpMethod(route.Split(' ')[0]), path, body);
            Assert.True(response.IsSuccessStatusCode, $"{route} as {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        async Task<HttpResponseMessage> Send(HttpMethod method, string path, string? json)
        {
            using var request = new HttpRequestMessage(method, path);
            if (json is not null)
                request.Content = new StringContent(json, Encoding.UTF8, "application/json");
            request.Headers.Add(AdminOptions.KeyHeader, AdminKey);
            return await client.SendAsync(request);
        }
    }

    static string Example(JsonElement schemas, string schema) => schemas.GetProperty(schema).GetProperty("example").GetRawText();

    [Fact]
    public async Task The_public_index_list_shows_the_demo_index_without_a_key()
    {
        using var factory = ServedDemo();
        var client = await ReadyClientAsync(factory);

        var list = await client.GetFromJsonAsync<JsonElement>("/v1/search/indexes");
        var demo = Assert.Single(list.GetProperty("data").EnumerateArray());
        Assert.Equal("verb-motion", demo.GetProperty("name").GetString());
        Assert.Equal("ready", demo.GetProperty("status").GetString());
        Assert.Equal(ServedDefaults.CrossEncoder, demo.GetProperty("model").GetString());
        Assert.True(demo.GetProperty("n").GetInt32() > 1000);
        Assert.True(demo.GetProperty("exhaustive").GetBoolean());
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/indexes")).StatusCode); // the admin list stays keyed
    }

    /// <summary>The service as appsettings.json serves it: the default cross-encoder and the committed demo index, with an admin key.</summary>
    static ServiceFactory ServedDemo() => new(("Admin:ApiKeys:0", AdminKey))
    {
        Adapters = [new AdapterOptions { Name = ServedDefaults.CrossEncoder, Kind = "cross-encoder", Path = ServedDefaults.CrossEncoderPath }],
        DefaultCrossEncoder = ServedDefaults.CrossEncoder,
        IndexFiles = ServedDefaults.IndexFiles,
    };

    /// <summary>A client once /readyz answers 200: the models and the demo index have loaded.</summary>
    static async Task<HttpClient> ReadyClientAsync(ServiceFactory factory)
    {
        var client = await factory.CreateLoadedClientAsync();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((await client.GetAsync("/readyz")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "the service did not become ready in 2 minutes");
            await Task.Delay(200);
        }
        return client;
    }
}
