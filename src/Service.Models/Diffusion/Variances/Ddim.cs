namespace Service.Models.Diffusion.Variances;

/// <summary>
/// DDIM's variance (Song et al. 2021, Eq. 16): σ²_{s|t} = λ²_{s|t} = η² β̃_{s|t}, the process's own posterior
/// variance; 0 for deterministic DDIM (η = 0).
/// </summary>
/// <remarks>
/// <code>
/// η        // interpolates DDIM (0) and DDPM (1)
/// β̃_{s|t} // (β̄_s / β̄_t) β_{t|s}
/// </code>
/// </remarks>
public sealed class Ddim : ReverseVariance
{
    public static readonly Ddim Instance = new();

    public override string Name => "ddim";

    public override double Scalar(in VarianceStep step) => AnalyticVariance.Ddim(step.Schedule, step.S, step.T, step.Eta);
}
