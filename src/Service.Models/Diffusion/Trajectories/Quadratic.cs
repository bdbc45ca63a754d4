namespace Service.Models.Diffusion.Trajectories;

/// <summary>
/// The quadratic trajectory of DDIM (Song et al. 2021, its code's "quad" skip), anchored like <see cref="Even"/>:
/// τ_k = round(1 + (N − 1)((k − 1)/(K − 1))²), each repeat lifted to its predecessor + 1; dense at low noise.
/// </summary>
/// <remarks>
/// <code>
/// N // the forward process's length
/// K // the number of model evaluations
/// </code>
/// </remarks>
public sealed class Quadratic : TrajectoryRule
{
    public static readonly Quadratic Instance = new();

    public override string Name => "quadratic";

    public override int[] Build(TrajectoryRequest request) => Trajectory.Quadratic(request.Schedule.Steps, request.Count);
}
