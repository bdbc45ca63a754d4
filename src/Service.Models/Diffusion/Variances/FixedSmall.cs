namespace Service.Models.Diffusion.Variances;

/// <summary>
/// DDPM's "fixed small" variance (Ho et al. 2020, §3.2): σ²_{s|t} = β̃_{s|t} = (β̄_s / β̄_t) β_{t|s}, the variance of the
/// forward posterior q(x_s | x_t, x₀) — optimal when x₀ is a single point.
/// </summary>
/// <remarks>
/// <code>
/// β̄_t = 1 − ᾱ_t          // the noise variance of q(x_t | x₀)
/// β_{t|s} = 1 − ᾱ_t / ᾱ_s  // the noise variance of q(x_t | x_s)
/// </code>
/// </remarks>
public sealed class FixedSmall : ReverseVariance
{
    public static readonly FixedSmall Instance = new();

    public override string Name => "fixed-small";

    public override double Scalar(in VarianceStep step) => AnalyticVariance.FixedSmall(step.Schedule, step.S, step.T);
}
