using System.ComponentModel;
using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Service.Api.Errors;
using Service.Api.Features.Indexes;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Api.OpenApi;
using Service.Index;
using Service.Models.Errors;

namespace Service.Api.Features.Search;

/// <summary>k-nearest-neighbour search of an index under its cross-encoder, at a budget of cross-encoder calls.</summary>
/// <param name="Index">An index (GET /v1/search/indexes).</param>
/// <param name="Query">The query every scored item is paired with.</param>
/// <param name="K">Results returned, 1..budget.</param>
/// <param name="Budget">Cross-encoder calls the search may spend, 2..Search:MaxBudget (exhaustive ignores it).</param>
/// <param name="Method">
/// cur: ANNCUR, exact scores on k_i random anchor items approximate every item's score through R, the best budget − k_i are re-ranked;
/// adaptive: ADACUR, the anchors chosen over Search:AdaptiveRounds rounds, each among the best approximated items;
/// adaptive-de: adaptive whose first round is the base bi-encoder's nearest items instead of random ones (the best method for the
/// default cross-encoder: docs/results/cur.md);
/// de-rerank: the budget nearest items by the base bi-encoder (all-MiniLM-L6-v2), re-ranked;
/// exhaustive: every item scored (at most Search:MaxExhaustiveItems live items).
/// </param>
/// <param name="Anchors">k_i for cur, adaptive and adaptive-de, 1..budget; when omitted, Search:CurAnchorShare (0.3), Search:AdaptiveAnchorShare (0.7) or Search:AdaptiveDeAnchorShare (0.7) of the budget.</param>
public sealed record SearchRequest(
    string? Index,
    string? Query,
    [property: DefaultValue(10)] int K = 10,
    [property: DefaultValue(100)] int Budget = 100,
    [property: DefaultValue("cur")] string? Method = "cur",
    int? Anchors = null) : IExampleProvider
{
    public static object Example => new SearchRequest("verb-motion", "The horse galloped across the field", K: 10, Budget: 200, Method: "adaptive-de");
}

/// <param name="Score">The cross-encoder's raw score (logit) of the query with this item; every result is scored exactly.</param>
public sealed record SearchHit(string Id, string Text, float Score);

/// <param name="CeMs">Cross-encoder calls on anchor items (cur, adaptive).</param>
/// <param name="ApproxMs">Approximate scores and the choice of items to re-rank: CUR (and, on an anchor set's first use, its U and E), or the bi-encoder for de-rerank.</param>
/// <param name="RerankMs">Cross-encoder calls re-ranking the chosen items (exhaustive: every item).</param>
public sealed record SearchTimings(double CeMs, double ApproxMs, double RerankMs);

/// <param name="Results">Best first, at most k.</param>
/// <param name="CeCalls">Cross-encoder calls made: at most the budget, except for exhaustive (one per live item).</param>
public sealed record SearchResponse(SearchHit[] Results, int CeCalls, SearchTimings Timings);

/// <summary>An index as searchers see it: what GET /v1/indexes shows admins, less the build details.</summary>
/// <param name="Status">queued | loading | building | ready | failed; only ready indexes answer searches.</param>
/// <param name="N">Live items (the build job's items until the index is ready).</param>
/// <param name="Model">The cross-encoder that scores its items; null until known.</param>
/// <param name="Exhaustive">Whether method exhaustive is allowed (N ≤ Search:MaxExhaustiveItems).</param>
public sealed record SearchIndexInfo(string Name, string Status, int N, string? Model, bool Exhaustive);

public sealed record SearchIndexList(string Object, SearchIndexInfo[] Data);

public static class SearchEndpoints
{
    static readonly string[] Methods = ["cur", "adaptive", "adaptive-de", "de-rerank", "exhaustive"];

    public static IEndpointRouteBuilder MapSearchEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/search").WithTags("Search");
        group.MapPost("/", Search)
            .WithSummary("Top-k items of an index under its cross-encoder, at a budget of cross-encoder calls (ANNCUR)")
            .WithDescription("Methods: cur (ANNCUR), adaptive (ADACUR), adaptive-de (ADACUR with a bi-encoder first round), de-rerank (bi-encoder retrieve, cross-encoder re-rank) and exhaustive. " +
                "Scores are the cross-encoder's raw scores. Time per stage in x-ce-time, x-approx-time, x-rerank-time and x-total-time (ms).")
            .ProducesServiceErrors([.. ProblemTable.BodyErrors, ServiceErrorKind.ValidationFailed, ServiceErrorKind.NotFound,
                ServiceErrorKind.Overloaded, ServiceErrorKind.NotReady, ServiceErrorKind.InferenceFailed]);
        group.MapGet("/indexes", ListIndexes)
            .WithSummary("Indexes that searches can name, with their size, cross-encoder and status (read-only; no admin key)");
        return routes;
    }

    public static async Task<Ok<SearchResponse>> Search(
        SearchRequest request, IndexCatalog catalog, TextGateway gateway, IOptions<SearchOptions> options, IOptions<LimitsOptions> limits, ApiMetrics metrics, HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        var search = options.Value;
        var name = InputValidation.Text(request.Index, "index", limits.Value);
        var query = InputValidation.Text(request.Query, "query", limits.Value);
        var method = request.Method ?? "";
        if (!Methods.Contains(method))
            throw InputValidation.Invalid($"'method' must be one of {string.Join(", ", Methods)}; got '{method}'.", "method", ("available", Methods));
        var exhaustive = method == "exhaustive";
        if (request.K < 1)
            throw InputValidation.Invalid($"'k' must be at least 1; got {request.K}.", "k");
        if (!exhaustive)
        {
            if (request.Budget < 2 || request.Budget > search.MaxBudget)
                throw InputValidation.Invalid($"'budget' must be 2..{search.MaxBudget} cross-encoder calls (Search:MaxBudget); got {request.Budget}.", "budget", ("max_budget", search.MaxBudget));
            if (request.K > request.Budget)
                throw InputValidation.Invalid($"'k' ({request.K}) exceeds 'budget' ({request.Budget}): only scored items are returned. Lower k or raise the budget.", "k");
        }
        if (request.Anchors is { } anchors && (method is not ("cur" or "adaptive" or "adaptive-de") || anchors < 1 || anchors > request.Budget))
            throw InputValidation.Invalid($"'anchors' is k_i of cur, adaptive and adaptive-de, 1..budget ({request.Budget}); omit it for {method} or choose a value in range.", "anchors");

        var serving = catalog.Serving(name);
        if (exhaustive && serving.Index.LiveCount > search.MaxExhaustiveItems)
        {
            throw InputValidation.Invalid(
                $"Index '{name}' has {serving.Index.LiveCount} items; exhaustive search scores every one and is limited to {search.MaxExhaustiveItems} " +
                "(Search:MaxExhaustiveItems). Use method cur or adaptive, which stay within the budget.", "method", ("max_exhaustive_items", search.MaxExhaustiveItems));
        }
        var scorer = gateway.Scorer(serving.Model);
        var result = method switch
        {
            "cur" or "adaptive" => await new AnnCurSearch(serving.Index, scorer).SearchAsync(
                query, search.Policy.Options(method, request.K, request.Budget, request.Anchors), http.RequestAborted),
            "adaptive-de" => await AdaptiveDeAsync(serving, name, gateway, scorer, query, search.Policy.Options(method, request.K, request.Budget, request.Anchors), http.RequestAborted),
            "de-rerank" => await BaselineSearch.RetrieveAndRerankAsync(
                serving.Index, serving.Embeddings ?? throw EmbeddingsUnavailable(name, serving, "de-rerank"), gateway.Embedder(), scorer,
                query, request.K, request.Budget, http.RequestAborted),
            _ => await BaselineSearch.ExhaustiveAsync(serving.Index, scorer, query, request.K, http.RequestAborted),
        };

        metrics.SearchCompleted(name, method, result.CrossEncoderCalls);
        TimingHeaders.Set(http.Response, "ce", result.AnchorScoring);
        TimingHeaders.Set(http.Response, "approx", result.Approximation);
        TimingHeaders.Set(http.Response, "rerank", result.Rerank);
        TimingHeaders.Set(http.Response, "total", Stopwatch.GetElapsedTime(started));
        return TypedResults.Ok(new SearchResponse(
            [.. result.Items.Select(item => new SearchHit(item.Id, item.Text, item.Score))],
            result.CrossEncoderCalls,
            new SearchTimings(result.AnchorScoring.TotalMilliseconds, result.Approximation.TotalMilliseconds, result.Rerank.TotalMilliseconds)));
    }

    public static Ok<SearchIndexList> ListIndexes(IndexCatalog catalog, IOptions<SearchOptions> options) =>
        TypedResults.Ok(new SearchIndexList("list", [.. catalog.List().Select(entry =>
        {
            var state = entry.State;
            var index = entry.Host?.Current;
            var n = index?.LiveCount ?? state.Items;
            return new SearchIndexInfo(entry.Name, IndexCatalog.Describe(state.Status), n, index?.Info.ModelId ?? state.Model, n <= options.Value.MaxExhaustiveItems);
        })]));

    /// <summary>ADACUR whose first round is the k_i¹ items nearest to the query by the base bi-encoder.</summary>
    static async Task<AnnCurResult> AdaptiveDeAsync(
        ServingIndex serving, string name, TextGateway gateway, ICrossEncoderScorer scorer, string query, AnnCurOptions options, CancellationToken cancellationToken)
    {
        var embeddings = serving.Embeddings ?? throw EmbeddingsUnavailable(name, serving, "adaptive-de");
        var vector = (await gateway.Embedder().EmbedAsync([query], cancellationToken))[0];
        return await new AnnCurSearch(serving.Index, scorer).SearchAsync(
            query, options with { FirstAnchors = (snapshot, count) => embeddings.Shortlist(vector, snapshot, count) }, cancellationToken);
    }

    static ServiceException EmbeddingsUnavailable(string name, ServingIndex serving, string method) => new(ServiceErrorKind.NotReady,
        $"Method {method} is unavailable on index '{name}' ({serving.EmbeddingsError}). Use cur, adaptive or exhaustive meanwhile.");
}
