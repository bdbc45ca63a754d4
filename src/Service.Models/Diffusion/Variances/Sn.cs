namespace Service.Models.Diffusion.Variances;

/// <summary>
/// SN-DPM (Bao et al., ICML 2022, §3): the optimal diagonal covariance from a head h(x_t) trained on the squared noise,
/// σ²_{s|t}(x) = λ² + c² (β̄_t / ᾱ_t)(h(x_t)_i − ε̂(x_t)_i²), per dimension.
/// </summary>
/// <remarks>
/// <code>
/// h(x_t) // ≈ E[ε² | x_t], the SN head's output [B, d]
/// ε̂     // the backbone's noise prediction [B, d]
/// λ², c  // as in <see cref="Analytic"/>
/// </code>
/// </remarks>
public sealed class Sn : ReverseVariance
{
    public static readonly Sn Instance = new();

    public override string Name => "sn";

    public override CovarianceHead Head => CovarianceHead.Sn;

    public override void Fill(in VarianceStep step, ReadOnlySpan<float> epsilon, ReadOnlySpan<float> head, Span<float> sigma2) =>
        AnalyticVariance.OptimalSn(step.Schedule, step.S, step.T, step.Eta, epsilon, head, step.DataInUnitBox, sigma2);
}
