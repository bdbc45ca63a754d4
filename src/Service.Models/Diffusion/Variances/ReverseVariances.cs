namespace Service.Models.Diffusion.Variances;

/// <summary>Every reverse variance rule, by the name requests use; adding a rule is its file plus one line here.</summary>
public static class ReverseVariances
{
    public static readonly IReadOnlyList<ReverseVariance> All =
    [
        FixedSmall.Instance,
        FixedLarge.Instance,
        Ddim.Instance,
        Analytic.Instance,
        Npr.Instance,
        Sn.Instance,
        FixedSmallClipped.Instance,
    ];

    public static IEnumerable<string> Names => All.Select(v => v.Name);

    /// <exception cref="ArgumentException">No rule has that name; the message lists them.</exception>
    public static ReverseVariance Find(string name) => All.FirstOrDefault(v => v.Name == name)
        ?? throw new ArgumentException($"Unknown variance '{name}'; use {string.Join(", ", Names)}.", nameof(name));
}
