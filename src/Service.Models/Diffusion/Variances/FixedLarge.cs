namespace Service.Models.Diffusion.Variances;

/// <summary>
/// DDPM's "fixed large" variance (Ho et al. 2020, §3.2): σ²_{s|t} = β_{t|s} = 1 − ᾱ_t / ᾱ_s, the forward step's own
/// variance — optimal when x₀ ~ N(0, I).
/// </summary>
/// <remarks>
/// <code>
/// ᾱ_t // the signal variance of q(x_t | x₀)
/// </code>
/// </remarks>
public sealed class FixedLarge : ReverseVariance
{
    public static readonly FixedLarge Instance = new();

    public override string Name => "fixed-large";

    public override double Scalar(in VarianceStep step) => AnalyticVariance.FixedLarge(step.Schedule, step.S, step.T);
}
