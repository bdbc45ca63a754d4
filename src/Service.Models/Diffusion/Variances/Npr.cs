namespace Service.Models.Diffusion.Variances;

/// <summary>
/// NPR-DPM (Bao et al., ICML 2022, §3): the optimal diagonal covariance from a head g(x_t) trained on the noise
/// prediction residual, σ²_{s|t}(x) = λ² + c² (β̄_t / ᾱ_t) g(x_t)_i, per dimension.
/// </summary>
/// <remarks>
/// <code>
/// g(x_t) // ≈ E[(ε − ε̂(x_t))² | x_t], the NPR head's output [B, d]
/// λ², c  // as in <see cref="Analytic"/>
/// </code>
/// </remarks>
public sealed class Npr : ReverseVariance
{
    public static readonly Npr Instance = new();

    public override string Name => "npr";

    public override CovarianceHead Head => CovarianceHead.Npr;

    public override void Fill(in VarianceStep step, ReadOnlySpan<float> epsilon, ReadOnlySpan<float> head, Span<float> sigma2) =>
        AnalyticVariance.OptimalNpr(step.Schedule, step.S, step.T, step.Eta, head, step.DataInUnitBox, sigma2);
}
