namespace Service.Index;

/// <summary>
/// How a search of method cur, adaptive or adaptive-de spends its budget B when the caller does not say: k_i anchor
/// items (a share of B), the rest re-ranked, and adaptive's rounds. The defaults are the shares chosen on the dev
/// domain verb.contact (docs/results/cur.md); a host may override each.
/// </summary>
public sealed record AnnCurPolicy
{
    /// <summary>k_i / B of cur: 0.3 had the best mean top-10 recall over budgets 100–1000 on verb.contact.</summary>
    public double CurAnchorShare { get; init; } = 0.3;

    /// <summary>k_i / B of adaptive (ADACUR): 0.7 had the best mean top-10 recall over budgets 100–1000 on verb.contact.</summary>
    public double AdaptiveAnchorShare { get; init; } = 0.7;

    /// <summary>k_i / B of adaptive-de: 0.7 was best among 0.3, 0.5 and 0.7 on verb.contact with minilm-ce-mixed.</summary>
    public double AdaptiveDeAnchorShare { get; init; } = 0.7;

    /// <summary>Rounds of adaptive and adaptive-de; the anchor items are split over them (fewer rounds when there are fewer anchors).</summary>
    public int AdaptiveRounds { get; init; } = 5;

    /// <summary>Seed of the random anchor items of cur and of adaptive's first round: one anchor set per anchor count, its E cached.</summary>
    public int AnchorSeed { get; init; }

    /// <summary>k_i of a method for a budget: its share of the budget, at least 1.</summary>
    public int DefaultAnchorItems(string method, int budget) =>
        Math.Max(1, (int)Math.Round(budget * method switch { "adaptive" => AdaptiveAnchorShare, "adaptive-de" => AdaptiveDeAnchorShare, _ => CurAnchorShare }));

    /// <summary>
    /// The options of one search: k_i anchors (the default when null), the rest of the budget re-ranked
    /// (adaptive-de's first round is chosen by the caller through <see cref="AnnCurOptions.FirstAnchors"/>).
    /// </summary>
    public AnnCurOptions Options(string method, int k, int budget, int? anchorItems = null)
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
}
