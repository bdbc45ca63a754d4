using System.ComponentModel.DataAnnotations;

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

    /// <summary>Seed of the random anchor items of cur and of adaptive's first round: one anchor set per anchor count, its E cached.</summary>
    public int AnchorSeed { get; set; }
}
