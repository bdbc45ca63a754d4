using System.ComponentModel.DataAnnotations;
using Service.Index;

namespace Service.Api.Hosting;

/// <summary>Limits and defaults of POST /v1/search ("Search" section); validated at start.</summary>
public sealed class SearchOptions
{
    public const string Section = "Search";

    /// <summary>Largest budget (cross-encoder calls) one search may spend.</summary>
    [Range(2, 1_000_000)] public int MaxBudget { get; set; } = 1000;

    /// <summary>Most live items method exhaustive scores (one CE call each); larger indexes must use cur or adaptive.</summary>
    [Range(1, 10_000_000)] public int MaxExhaustiveItems { get; set; } = 10_000;

    /// <summary>Rounds of method adaptive (ADACUR); the anchor items are split over them (fewer rounds when there are fewer anchors).</summary>
    [Range(1, 1000)] public int AdaptiveRounds { get; set; } = 5;

    /// <summary>
    /// k_i / budget of method cur when a request omits "anchors". 0.3 had the best mean top-10 recall over budgets
    /// 100–1000 on the dev domain verb.contact (docs/results/cur.md).
    /// </summary>
    [Range(0.01, 0.99)] public double CurAnchorShare { get; set; } = 0.3;

    /// <summary>
    /// k_i / budget of method adaptive when a request omits "anchors". 0.7 had the best mean top-10 recall over budgets
    /// 100–1000 on the dev domain verb.contact (docs/results/cur.md).
    /// </summary>
    [Range(0.01, 0.99)] public double AdaptiveAnchorShare { get; set; } = 0.7;

    /// <summary>
    /// k_i / budget of method adaptive-de when a request omits "anchors". 0.7 had the best mean top-10 recall over budgets
    /// 100–1000 on the dev domain verb.contact with minilm-ce-mixed, among 0.3, 0.5 and 0.7 (docs/results/cur.md).
    /// </summary>
    [Range(0.01, 0.99)] public double AdaptiveDeAnchorShare { get; set; } = 0.7;

    /// <summary>k_i of cur, adaptive or adaptive-de for a request that omits "anchors": the method's share of the budget, at least 1.</summary>
    public int DefaultAnchorItems(string method, int budget) =>
        Math.Max(1, (int)Math.Round(budget * method switch { "adaptive" => AdaptiveAnchorShare, "adaptive-de" => AdaptiveDeAnchorShare, _ => CurAnchorShare }));

    /// <summary>
    /// The search POST /v1/search runs for method cur, adaptive or adaptive-de: k_i anchors (the default when null), the rest
    /// of the budget re-ranked (adaptive-de's first round is chosen by the caller through <see cref="AnnCurOptions.FirstAnchors"/>).
    /// </summary>
    public AnnCurOptions AnnCur(string method, int k, int budget, int? anchorItems = null)
    {
        var anchors = anchorItems ?? DefaultAnchorItems(method, budget);
        return new AnnCurOptions
        {
            K = k,
            AnchorItems = anchors,
            Rerank = budget - anchors,
            Rounds = method is "adaptive" or "adaptive-de" ? Math.Min(AdaptiveRounds, anchors) : 1,
            Seed = AnchorSeed,
        };
    }

    /// <summary>Seed of the random anchor items of cur and of adaptive's first round: one anchor set per anchor count, its E cached.</summary>
    public int AnchorSeed { get; set; }
}
