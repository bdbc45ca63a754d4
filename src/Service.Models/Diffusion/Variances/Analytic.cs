namespace Service.Models.Diffusion.Variances;

/// <summary>
/// Analytic-DPM (Bao et al., ICLR 2022, Theorem 1): the optimal scalar variance σ̂²_{s|t} = λ²_{s|t} + c² Ĉ_t with
/// Ĉ_t = (β̄_t / ᾱ_t)(1 − Γ_t), clamped to [0, 1] for data in the unit box (<see cref="AnalyticVariance.Optimal"/>).
/// </summary>
/// <remarks>
/// <code>
/// λ²  // η² β̃_{s|t}
/// c   // √ᾱ_s − √((β̄_s − λ²) ᾱ_t / β̄_t), the weight of x̂₀'s error in the step's mean
/// Γ_t // E‖ε̂(x_t, t)‖² / d, estimated once per model by Monte Carlo (GammaEstimator)
/// </code>
/// </remarks>
public sealed class Analytic : ReverseVariance
{
    public static readonly Analytic Instance = new();

    public override string Name => "analytic";

    public override bool NeedsGamma => true;

    public override double Scalar(in VarianceStep step) =>
        AnalyticVariance.Optimal(step.Schedule, step.S, step.T, step.Eta, step.Gamma![step.T], step.DataInUnitBox);
}
