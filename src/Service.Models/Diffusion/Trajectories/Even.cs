namespace Service.Models.Diffusion.Trajectories;

/// <summary>
/// The even trajectory τ_k = round(1 + (k − 1)(N − 1)/(K − 1)), k = 1..K (Analytic-DPM's "linear" steps, DDIM §4.2).
/// </summary>
/// <remarks>
/// <code>
/// N // the forward process's length
/// K // the number of model evaluations
/// </code>
/// </remarks>
public sealed class Even : TrajectoryRule
{
    public static readonly Even Instance = new();

    public override string Name => "even";

    public override int[] Build(TrajectoryRequest request) => Trajectory.Even(request.Schedule.Steps, request.Count);
}
