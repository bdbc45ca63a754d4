namespace Service.Models.Diffusion.Trajectories;

/// <summary>What a trajectory rule may read to choose τ_1 &lt; … &lt; τ_K.</summary>
/// <param name="Count">K, the number of model evaluations.</param>
/// <param name="Eta">η of the process (1 for DDPM); the optimal trajectory's cost depends on it.</param>
/// <param name="Gamma">Γ [N + 1] of the model.</param>
public sealed record TrajectoryRequest(NoiseSchedule Schedule, int Count, double Eta, double[] Gamma, bool DataInUnitBox);

/// <summary>
/// How the K timesteps of a sampling run are chosen: the extension point of the sampler's trajectories. Each rule is one
/// file; <see cref="TrajectoryRules"/> lists them under the names the API accepts. The arithmetic is in <see cref="Trajectory"/>.
/// </summary>
public abstract class TrajectoryRule
{
    /// <summary>The name requests use, e.g. "even".</summary>
    public abstract string Name { get; }

    /// <returns>τ_1 &lt; … &lt; τ_K within 1..N.</returns>
    public abstract int[] Build(TrajectoryRequest request);

    public override string ToString() => Name;
}
