namespace Service.Models.Diffusion;

/// <summary>
/// The closed-form presets the service registers by name: <c>gmm-2d</c> (<see cref="GaussianMixtureModel.Gmm2D"/>) and
/// <c>gauss-64</c> (<see cref="GaussianModel.Gauss64"/>), both on the linear N = 1000 schedule unless told otherwise.
/// </summary>
public static class ReferenceModels
{
    public const string Gmm2D = "gmm-2d";
    public const string Gauss64 = "gauss-64";

    /// <summary>The preset names, in registration order.</summary>
    public static IReadOnlyList<string> Names { get; } = [Gmm2D, Gauss64];

    /// <summary>Builds the preset <paramref name="name"/> with the given oracle head and schedule.</summary>
    public static IReferenceModel Create(string name, CovarianceHead head = CovarianceHead.None, NoiseSchedule? schedule = null) => name switch
    {
        Gmm2D => GaussianMixtureModel.Gmm2D(head, schedule),
        Gauss64 => GaussianModel.Gauss64(head, schedule),
        _ => throw new ArgumentException($"Unknown reference model '{name}'; use {string.Join(" or ", Names)}.", nameof(name)),
    };
}
