using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Service.Api.Hosting;
using Service.Models.ModelFiles;
using Service.Models.Text.Adapters;
using Service.Tests.Fixtures;

namespace Service.Tests.Api;

/// <summary>
/// The service with a cross-encoder written at start (the base MiniLM with a random scoring head: real model calls, no
/// training), an admin key, and an index directory in a temporary folder that already holds a file that is no index.
/// Tests build the indexes they use through POST /v1/indexes, each under its own name.
/// </summary>
public sealed class IndexServiceFixture : IAsyncLifetime
{
    public const string AdminKey = "test-admin-key-0123456789";

    /// <summary>A second admin key, configured only by its SHA-256 digest.</summary>
    public const string HashedAdminKey = "hashed-admin-key-0123456789";
    public const string CrossEncoder = "test-ce";
    public const int MaxExhaustiveItems = 40;

    /// <summary>An index every search test may read and none changes: 30 items, 8 anchor queries.</summary>
    public const string SharedIndex = "shared";

    public static readonly string[] Sentences =
    [
        "A man is playing a guitar on stage.", "A woman is slicing an onion in the kitchen.", "The bank raised its interest rates.",
        "Children are playing football in the park.", "A chef is cooking pasta with tomato sauce.", "The river overflowed its banks after the storm.",
        "Stocks fell sharply on Monday morning.", "A cat is sleeping on the sofa.", "Deep learning uses neural networks with many layers.",
        "The train to Paris leaves at noon.", "She deposited the cheque at the bank.", "A dog is chasing a ball across the lawn.",
        "The orchestra played a symphony by Mozart.", "Heavy rain is expected this weekend.", "He is reading a novel by the fireplace.",
        "The company reported record profits this quarter.", "A boy is riding a bicycle down the hill.", "Fresh bread is baked every morning.",
        "The museum opens a new exhibition on Egypt.", "Two men are fishing from a small boat.", "The election results were announced last night.",
        "A violinist is tuning her instrument.", "Snow covered the mountains overnight.", "The doctor examined the patient's knee.",
        "Farmers are harvesting wheat in the fields.", "The startup raised ten million dollars.", "A bird is building a nest in the tree.",
        "The students are taking an exam in mathematics.", "A pianist performed at the concert hall.", "The bridge was closed for repairs.",
        "A kitten is playing with a ball of yarn.", "The central bank cut interest rates again.", "Tourists are photographing the cathedral.",
        "A man is jogging along the beach at sunrise.", "The recipe needs two cups of flour.", "Lightning struck the old oak tree.",
        "The team won the championship final.", "A drummer keeps the rhythm for the band.", "The library extended its opening hours.",
        "Investors are worried about inflation.", "A girl is painting a landscape in watercolours.", "The ferry crosses the lake every hour.",
    ];

    public static readonly string[] AnchorQueries =
    [
        "Who is making music?", "What happened in the financial markets?", "Is someone preparing food?", "What is the weather like?",
        "Which animals are mentioned?", "Where can I deposit money?", "What are people doing outdoors?", "What is happening at the river?",
    ];

    readonly string folder = Directory.CreateTempSubdirectory("index-service-").FullName;
    readonly SemaphoreSlim sharedBuild = new(1, 1);
    bool sharedBuilt;

    public IndexServiceFixture()
    {
        IndexDirectory = Path.Combine(folder, "indexes");
        Directory.CreateDirectory(IndexDirectory);
        File.WriteAllText(Path.Combine(IndexDirectory, "broken.anncur"), "this file is no index");

        var random = new Random(11);
        var head = Enumerable.Range(0, MiniLmPackage.Dimensions).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        AdapterPath = Path.Combine(folder, "ce", "adapter.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(AdapterPath)!);
        new TextAdapter(
            new TextAdapterInfo(TextAdapter.CrossEncoder, MiniLmPackage.ModelName, MiniLmPackage.ModelSha256, 1, 1, new Dictionary<string, string>()),
            new Dictionary<string, (float[] Data, long[] Shape)>
            {
                [TextAdapter.HeadWeightName] = (head, [1, head.Length]),
                [TextAdapter.HeadBiasName] = ([0.1f], [1]),
            }).Save(AdapterPath);

        Factory = new ServiceFactory(
            ("Indexes:Directory", IndexDirectory),
            ("Admin:ApiKeys:0", AdminKey),
            ("Admin:ApiKeys:1", AdminOptions.HashPrefix + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(HashedAdminKey)))),
            ("Search:MaxExhaustiveItems", MaxExhaustiveItems.ToString()),
            // No trained UNets and a small Γ sample: nothing here uses diffusion, so the service starts faster.
            ("Diffusion:ModelDirectory", Path.Combine(folder, "no-diffusion-models")),
            ("Diffusion:ReferenceGammaSamples", "10"))
        {
            Adapters = [new AdapterOptions { Name = CrossEncoder, Kind = TextAdapter.CrossEncoder, Path = AdapterPath }],
            DefaultCrossEncoder = CrossEncoder,
        };
    }

    public ServiceFactory Factory { get; }

    public string IndexDirectory { get; }

    /// <summary>The cross-encoder's adapter file.</summary>
    public string AdapterPath { get; }

    /// <summary>A client for the public routes (no key).</summary>
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync() => Client = await Factory.CreateLoadedClientAsync();

    public Task DisposeAsync()
    {
        Factory.Dispose();
        Directory.Delete(folder, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>A client that sends the admin key.</summary>
    public HttpClient Admin()
    {
        var client = Factory.CreateClient();
        client.DefaultRequestHeaders.Add(AdminOptions.KeyHeader, AdminKey);
        return client;
    }

    public static object[] Items(int count, int from = 0) =>
        [.. Enumerable.Range(from, count).Select(i => new { id = $"s{i}", text = Sentences[i] })];

    /// <summary>Builds an index over HTTP and waits until it is ready; returns what GET then shows.</summary>
    public async Task<JsonElement> BuildAsync(string name, int items, int anchorQueries, string dtype = "float32")
    {
        var response = await Admin().PostAsJsonAsync("/v1/indexes",
            new { name, items = Items(items), anchor_queries = AnchorQueries[..anchorQueries], dtype });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await WaitAsync(name, "ready");
    }

    /// <summary>Polls GET /v1/indexes/{name} until its status is <paramref name="status"/> (or it failed).</summary>
    public async Task<JsonElement> WaitAsync(string name, string status)
    {
        var admin = Admin();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            var info = await admin.GetFromJsonAsync<JsonElement>($"/v1/indexes/{name}");
            var current = info.GetProperty("status").GetString();
            if (current == status)
                return info;
            Assert.NotEqual("failed", current);
            await Task.Delay(50);
        }
        throw new TimeoutException($"Index '{name}' did not become {status} within 3 minutes.");
    }

    /// <summary>The shared read-only index, built on first use.</summary>
    public async Task<string> SharedIndexAsync()
    {
        await sharedBuild.WaitAsync();
        try
        {
            if (!sharedBuilt)
                await BuildAsync(SharedIndex, 30, 8);
            sharedBuilt = true;
            return SharedIndex;
        }
        finally
        {
            sharedBuild.Release();
        }
    }

    /// <summary>Raw cross-encoder scores through POST /rerank: the reference every search score must equal.</summary>
    public async Task<Dictionary<string, float>> RerankAsync(string query, IReadOnlyList<string> texts)
    {
        var response = await Client.PostAsJsonAsync("/rerank", new { query, texts, raw_scores = true });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray()
            .ToDictionary(e => texts[e.GetProperty("index").GetInt32()], e => e.GetProperty("score").GetSingle());
    }
}

[CollectionDefinition(Name)]
public sealed class IndexServiceCollection : ICollectionFixture<IndexServiceFixture>
{
    public const string Name = "Index service";
}
