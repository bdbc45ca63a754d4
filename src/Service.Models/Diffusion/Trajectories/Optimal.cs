namespace Service.Models.Diffusion.Trajectories;

/// <summary>
/// Analytic-DPM's optimal trajectory (Bao et al., ICLR 2022, §4): the τ that minimises the negative ELBO
/// Σ_k J(τ_{k−1}, τ_k) under the optimal variances, found by dynamic programming over the model's Γ.
/// </summary>
/// <remarks>
/// <code>
/// J(s, t) // log(σ̂²_{s|t} / λ²_{s|t}): the step s &lt; t's share of the negative ELBO under the analytic variance, up to τ-free terms
/// Γ_n     // E‖ε̂(x_n, n)‖²/d
/// </code>
/// </remarks>
public sealed class Optimal : TrajectoryRule
{
    public static readonly Optimal Instance = new();

    public override string Name => "optimal";

    public override int[] Build(TrajectoryRequest request) =>
        Trajectory.Optimal(request.Schedule, request.Gamma, request.Count, request.Eta, request.DataInUnitBox);
}
