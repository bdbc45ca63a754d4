namespace Service.Models.Diffusion.Trajectories;

/// <summary>Every trajectory rule, by the name requests use; adding a rule is its file plus one line here.</summary>
public static class TrajectoryRules
{
    public static readonly IReadOnlyList<TrajectoryRule> All = [Even.Instance, Quadratic.Instance, Optimal.Instance];

    public static IEnumerable<string> Names => All.Select(r => r.Name);

    /// <exception cref="ArgumentException">No rule has that name; the message lists them.</exception>
    public static TrajectoryRule Find(string name) => All.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"Unknown trajectory '{name}'; use {string.Join(", ", Names)}.", nameof(name));
}
