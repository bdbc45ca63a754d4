namespace Service.Models.Diffusion.Variances;

/// <summary>
/// DDPM's fixed-small variance as its code samples with it (<c>posterior_log_variance_clipped</c>): σ²_{s|t} = β̃_{s|t},
/// except that the step out of the first timestep, τ₁ → 0, whose β̃ is 0, takes the β̃ of the second step, τ₂ → τ₁.
/// </summary>
/// <remarks>
/// <code>
/// β̃_{s|t} // (β̄_s / β̄_t) β_{t|s}
/// τ₁, τ₂   // the trajectory's two least-noisy timesteps
/// </code>
/// This sampler ends with x̂₀ and no noise at τ₁ → 0 (Analytic-DPM's decoder mean), so its samples equal
/// <see cref="FixedSmall"/>'s; the rule differs only in the σ² it states for that last step.
/// </remarks>
public sealed class FixedSmallClipped : ReverseVariance
{
    public static readonly FixedSmallClipped Instance = new();

    public override string Name => "fixed-small-clipped";

    public override double Scalar(in VarianceStep step) => step.K == 1 && step.Trajectory.Length > 1
        ? AnalyticVariance.FixedSmall(step.Schedule, step.Trajectory[0], step.Trajectory[1])
        : AnalyticVariance.FixedSmall(step.Schedule, step.S, step.T);
}
