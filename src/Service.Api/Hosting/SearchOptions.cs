using System.ComponentModel.DataAnnotations;
using Service.Index;

namespace Service.Api.Hosting;

/// <summary>
/// Limits of POST /v1/search ("Search" section), and overrides of the index library's <see cref="AnnCurPolicy"/>, whose
/// defaults these start from; validated at start.
/// </summary>
public sealed class SearchOptions
{
    public const string Section = "Search";
    static readonly AnnCurPolicy Defaults = new();

    /// <summary>Largest budget (cross-encoder calls) one search may spend.</summary>
    [Range(2, 1_000_000)] public int MaxBudget { get; set; } = 1000;

    /// <summary>Most live items method exhaustive scores (one CE call each); larger indexes must use cur or adaptive.</summary>
    [Range(1, 10_000_000)] public int MaxExhaustiveItems { get; set; } = 10_000;

    /// <inheritdoc cref="AnnCurPolicy.AdaptiveRounds"/>
    [Range(1, 1000)] public int AdaptiveRounds { get; set; } = Defaults.AdaptiveRounds;

    /// <inheritdoc cref="AnnCurPolicy.CurAnchorShare"/>
    [Range(0.01, 0.99)] public double CurAnchorShare { get; set; } = Defaults.CurAnchorShare;

    /// <inheritdoc cref="AnnCurPolicy.AdaptiveAnchorShare"/>
    [Range(0.01, 0.99)] public double AdaptiveAnchorShare { get; set; } = Defaults.AdaptiveAnchorShare;

    /// <inheritdoc cref="AnnCurPolicy.AdaptiveDeAnchorShare"/>
    [Range(0.01, 0.99)] public double AdaptiveDeAnchorShare { get; set; } = Defaults.AdaptiveDeAnchorShare;

    /// <inheritdoc cref="AnnCurPolicy.AnchorSeed"/>
    public int AnchorSeed { get; set; } = Defaults.AnchorSeed;

    /// <summary>The index library's policy with this section's values.</summary>
    public AnnCurPolicy Policy => new()
    {
        CurAnchorShare = CurAnchorShare, AdaptiveAnchorShare = AdaptiveAnchorShare, AdaptiveDeAnchorShare = AdaptiveDeAnchorShare,
        AdaptiveRounds = AdaptiveRounds, AnchorSeed = AnchorSeed,
    };
}
