using System.ComponentModel;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Api.OpenApi;
using Service.Index;
using Service.Models.Errors;

namespace Service.Api.Features.Indexes;

/// <param name="Id">Unique within the index: what search results return and DELETE takes; 1-256 characters.</param>
/// <param name="Text">What the cross-encoder scores against queries.</param>
public sealed record IndexItemInput(string? Id, string? Text);

/// <summary>An ANNCUR index to build: R = CE(anchor queries × items), k_q·N cross-encoder calls, run as a background job.</summary>
/// <param name="Name">The index's name in routes and searches: 1-64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, not ending in ".anncur".</param>
/// <param name="Model">The cross-encoder (GET /v1/models); Models:DefaultCrossEncoder when omitted. Searches use the same model.</param>
/// <param name="Items">The N items; at most Indexes:MaxItems.</param>
/// <param name="AnchorQueries">The k_q anchor queries, typical of the queries the index will serve; at most Indexes:MaxAnchorQueries.</param>
/// <param name="Dtype">How R is stored on disk: float32, or float16 (half the file; scores rounded to binary16).</param>
public sealed record IndexBuildRequest(
    string? Name,
    string? Model,
    IndexItemInput?[]? Items,
    string?[]? AnchorQueries,
    [property: DefaultValue("float32")] string? Dtype = "float32") : IExampleProvider
{
    public static object Example => new IndexBuildRequest(
        IndexesEndpoints.ExampleIndex,
        null,
        [
            new("bank.n.01", "bank: sloping land beside a body of water"),
            new("bank.n.02", "bank: a financial institution that accepts deposits and channels the money into lending"),
            new("guitar.n.01", "guitar: a stringed instrument usually having six strings, played by strumming or plucking"),
        ],
        ["Where can I deposit money?", "What grows on a river bank?"]);
}

/// <param name="JobId">The build job; GET Location shows its status and progress.</param>
public sealed record IndexBuildAccepted(string JobId, string Name, string Status, string Location);

/// <summary>One index as the admin routes show it.</summary>
/// <param name="Status">queued | loading | building | ready | failed.</param>
/// <param name="Progress">Cross-encoder calls done over k_q·N of the build job, 0..1 (1 for an index loaded from a file).</param>
/// <param name="N">Live items (the job's items until the index is ready).</param>
/// <param name="KQ">Anchor queries, the rows of R.</param>
/// <param name="Dtype">How R is stored on disk: float32 | float16.</param>
/// <param name="MemoryBytes">Bytes of R in memory: float32, k_q × item positions (deleted items keep their column until a reload).</param>
/// <param name="Model">The cross-encoder the index was built with and searches use.</param>
/// <param name="Created">When R was built; null until ready.</param>
/// <param name="Error">Why the build or load failed, or, on a ready index, why the last reload was refused.</param>
/// <param name="CeCallsResumed">Of ce_calls_done, those taken from the checkpoint of an earlier build of the same inputs that failed or was interrupted.</param>
public sealed record IndexInfo(
    string Name, string Status, double Progress, long CeCallsDone, long CeCallsTotal, int N, [property: JsonPropertyName("k_q")] int KQ,
    string Dtype, long MemoryBytes, string? Model, DateTimeOffset? Created, string? JobId, string? Error, long CeCallsResumed);

public sealed record IndexList(string Object, IndexInfo[] Data);

/// <param name="Items">New items; at most Limits:MaxInputsPerRequest, ids not yet in the index. Each costs k_q cross-encoder calls.</param>
public sealed record IndexItemsRequest(IndexItemInput?[]? Items) : IExampleProvider
{
    public static object Example => new IndexItemsRequest([new(IndexesEndpoints.ExampleItem, "cheese: a solid food prepared from the pressed curd of milk")]);
}

/// <param name="CeCalls">k_q per new item.</param>
/// <param name="N">Live items now.</param>
public sealed record IndexItemsAdded(int Added, int CeCalls, int N);

public static partial class IndexesEndpoints
{
    const int MaxIdLength = 256;

    /// <summary>The index the build example creates and the item the add-items example adds: the path examples of the other routes.</summary>
    internal const string ExampleIndex = "demo", ExampleItem = "cheese.n.01";

    public static IEndpointRouteBuilder MapIndexesEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/indexes").WithTags("Indexes").WithMetadata(new AdminOnly());
        group.MapPost("/", Build)
            .WithSummary("Build an ANNCUR index (admin)")
            .WithDescription("Queues a background build of R = CE(anchor queries × items): k_q·N cross-encoder calls, one build at a time, " +
                "checkpointed every Indexes:ShardSize items. 202 with the job id; GET the Location for status and progress.")
            .ProducesServiceErrors([.. ProblemTable.AdminErrors, .. ProblemTable.BodyErrors, ServiceErrorKind.ValidationFailed,
                ServiceErrorKind.UnknownModel, ServiceErrorKind.Conflict, ServiceErrorKind.NotReady]);
        group.MapGet("/", List)
            .WithSummary("Indexes and their status (admin)")
            .ProducesServiceErrors(ProblemTable.AdminErrors);
        group.MapGet("/{name}", GetIndex)
            .WithPathExample("name", ExampleIndex)
            .WithSummary("One index: status, progress, N, k_q, dtype, memory of R, model (admin)")
            .ProducesServiceErrors([.. ProblemTable.AdminErrors, ServiceErrorKind.NotFound]);
        group.MapPost("/{name}/items", AddItems)
            .WithPathExample("name", ExampleIndex)
            .WithSummary("Add items without rebuilding (admin)")
            .WithDescription("Scores each new item against the k_q anchor queries (k_q cross-encoder calls each), appends its column of R " +
                "and saves the index file.")
            .ProducesServiceErrors([.. ProblemTable.AdminErrors, .. ProblemTable.BodyErrors, ServiceErrorKind.ValidationFailed,
                ServiceErrorKind.NotFound, ServiceErrorKind.Conflict, ServiceErrorKind.Overloaded, ServiceErrorKind.NotReady, ServiceErrorKind.InferenceFailed])
            .WithRequestTimeout(TimeoutOptions.LongPolicy);
        group.MapDelete("/{name}/items/{*id}", DeleteItem)
            .WithPathExample("name", ExampleIndex)
            .WithPathExample("id", ExampleItem)
            .WithSummary("Delete an item (admin)")
            .WithDescription("The item stops appearing in searches at once; the index file is saved without it.")
            .ProducesServiceErrors([.. ProblemTable.AdminErrors, ServiceErrorKind.NotFound, ServiceErrorKind.NotReady]);
        group.MapDelete("/{name}", DeleteIndex)
            .WithPathExample("name", ExampleIndex)
            .WithSummary("Delete an index and its file (admin)")
            .WithDescription("Unloads the index and removes its file and build checkpoint. 409 while it is queued or building.")
            .ProducesServiceErrors([.. ProblemTable.AdminErrors, ServiceErrorKind.NotFound, ServiceErrorKind.Conflict]);
        group.MapPost("/{name}/reload", Reload)
            .WithPathExample("name", ExampleIndex)
            .WithSummary("Load the index's file again (admin)")
            .WithDescription("A file that is refused (damaged, truncated, built with other weights) changes nothing: the previous index keeps serving, " +
                "and GET shows the error.")
            .ProducesServiceErrors([.. ProblemTable.AdminErrors, ServiceErrorKind.NotFound, ServiceErrorKind.Conflict, ServiceErrorKind.IndexFileRefused])
            .WithRequestTimeout(TimeoutOptions.LongPolicy);
        return routes;
    }

    public static Accepted<IndexBuildAccepted> Build(
        IndexBuildRequest request, IndexBuildRunner builds, TextGateway gateway, IOptions<IndexesOptions> options, IOptions<LimitsOptions> limits)
    {
        var name = request.Name ?? "";
        if (!IndexName().IsMatch(name))
            throw InputValidation.Invalid($"'name' must be 1-64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit; got '{name}'.", "name");
        if (name.EndsWith(IndexesOptions.FileExtension, StringComparison.OrdinalIgnoreCase))
        {
            throw InputValidation.Invalid($"'name' must not end in '{IndexesOptions.FileExtension}': the file is {name}{IndexesOptions.FileExtension} already. Send '{name[..^IndexesOptions.FileExtension.Length]}'.", "name");
        }
        var model = gateway.CrossEncoder(request.Model).Descriptor.Name;
        var items = Items(request.Items, options.Value.MaxItems, limits.Value);
        var queries = request.AnchorQueries ?? [];
        if (queries.Length == 0 || queries.Length > options.Value.MaxAnchorQueries)
        {
            throw InputValidation.Invalid($"'anchor_queries' has {queries.Length} queries; send 1 to {options.Value.MaxAnchorQueries} (Indexes:MaxAnchorQueries).",
                "anchor_queries", ("max_anchor_queries", options.Value.MaxAnchorQueries));
        }
        var anchorQueries = queries.Select((query, i) => InputValidation.Text(query, $"anchor_queries[{i}]", limits.Value)).ToArray();
        ScoreType storedAs = request.Dtype switch
        {
            "float32" => ScoreType.Float32,
            "float16" => ScoreType.Float16,
            _ => throw InputValidation.Invalid($"'dtype' must be float32 or float16; got '{request.Dtype}'.", "dtype", ("available", new[] { "float32", "float16" })),
        };

        var entry = builds.Enqueue(name, model, items, anchorQueries, storedAs);
        var location = $"/v1/indexes/{name}";
        return TypedResults.Accepted(location, new IndexBuildAccepted(entry.State.JobId!, name, IndexCatalog.Describe(entry.State.Status), location));
    }

    public static Ok<IndexList> List(IndexCatalog catalog) => TypedResults.Ok(new IndexList("list", [.. catalog.List().Select(Describe)]));

    public static Ok<IndexInfo> GetIndex(string name, IndexCatalog catalog) => TypedResults.Ok(Describe(catalog.Get(name)));

    public static async Task<Ok<IndexItemsAdded>> AddItems(
        string name, IndexItemsRequest request, IndexCatalog catalog, IndexEditor editor, IOptions<LimitsOptions> limits, HttpContext http)
    {
        catalog.Get(name); // 404 before validating a body meant for no index
        var items = Items(request.Items, limits.Value.MaxInputsPerRequest, limits.Value);
        var calls = await editor.InsertAsync(name, items, http.RequestAborted);
        return TypedResults.Ok(new IndexItemsAdded(items.Length, calls, catalog.Serving(name).Index.LiveCount));
    }

    public static async Task<NoContent> DeleteItem(string name, string id, IndexEditor editor, HttpContext http)
    {
        await editor.DeleteAsync(name, id, http.RequestAborted);
        return TypedResults.NoContent();
    }

    public static async Task<NoContent> DeleteIndex(string name, IndexEditor editor, HttpContext http)
    {
        await editor.RemoveAsync(name, http.RequestAborted);
        return TypedResults.NoContent();
    }

    public static async Task<Ok<IndexInfo>> Reload(string name, IndexLoader loader, HttpContext http) =>
        TypedResults.Ok(Describe(await loader.ReloadAsync(name, http.RequestAborted)));

    static IndexItem[] Items(IndexItemInput?[]? items, int max, LimitsOptions limits)
    {
        if (items is null || items.Length == 0)
            throw InputValidation.Invalid("'items' is empty. Send at least one {\"id\", \"text\"} item.", "items");
        if (items.Length > max)
            throw InputValidation.Invalid($"'items' has {items.Length} items; at most {max} are allowed per request. Split the request.", "items", ("max_inputs", max));
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new IndexItem[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var id = items[i]?.Id;
            if (string.IsNullOrWhiteSpace(id) || id.Length > MaxIdLength)
                throw InputValidation.Invalid($"'items[{i}].id' must be a non-blank string of at most {MaxIdLength} characters.", $"items[{i}].id");
            if (!seen.TryAdd(id, i))
                throw InputValidation.Invalid($"'items[{i}].id' repeats the id '{id}' of items[{seen[id]}]; ids must be unique.", $"items[{i}].id");
            result[i] = new IndexItem(id, InputValidation.Text(items[i]!.Text, $"items[{i}].text", limits));
        }
        return result;
    }

    static IndexInfo Describe(IndexEntry entry)
    {
        var state = entry.State;
        var index = entry.Host?.Current;
        var dtype = (index?.Info.StoredAs ?? state.StoredAs) == ScoreType.Float16 ? "float16" : "float32";
        return index is null
            ? new IndexInfo(entry.Name, IndexCatalog.Describe(state.Status), state.Progress, state.CallsDone, state.CallsTotal, state.Items, state.Queries,
                dtype, 0, state.Model, null, state.JobId, state.Error, state.CallsResumed)
            : new IndexInfo(entry.Name, IndexCatalog.Describe(state.Status), state.Progress, state.CallsDone, state.CallsTotal, index.LiveCount, index.QueryCount,
                dtype, (long)index.QueryCount * index.Snapshot().Count * sizeof(float), index.Info.ModelId, index.Info.Created, state.JobId, state.Error,
                state.CallsResumed);
    }

    // Ends in a letter or digit: "x." would name the file "x..anncur". \z: $ would let a trailing newline through.
    [GeneratedRegex(@"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?\z")]
    private static partial Regex IndexName();
}
