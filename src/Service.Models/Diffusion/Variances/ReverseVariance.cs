namespace Service.Models.Diffusion.Variances;

/// <summary>One generalised reverse step s = τ_{k−1} &lt; t = τ_k of a trajectory, with what a variance rule may read.</summary>
/// <param name="Trajectory">τ_1 &lt; … &lt; τ_K (τ_0 = 0 implicit).</param>
/// <param name="K">k, the step's index in the trajectory: its source is τ_k.</param>
/// <param name="Eta">η of the process (1 for DDPM).</param>
/// <param name="Gamma">Γ [N + 1] of the model; rules with <see cref="ReverseVariance.NeedsGamma"/> get it.</param>
public readonly record struct VarianceStep(NoiseSchedule Schedule, int[] Trajectory, int K, double Eta, double[]? Gamma, bool DataInUnitBox)
{
    /// <summary>t = τ_k.</summary>
    public int T => Trajectory[K - 1];

    /// <summary>s = τ_{k−1}, 0 for k = 1.</summary>
    public int S => K > 1 ? Trajectory[K - 2] : 0;
}

/// <summary>
/// How σ²_{s|t} of each noisy reverse step is chosen: the extension point of the sampler's variances. A rule is scalar
/// (one σ² per step) or, with a covariance head, per dimension. Each rule is one file; <see cref="ReverseVariances"/>
/// lists them under the names the API accepts.
/// </summary>
public abstract class ReverseVariance
{
    /// <summary>The name requests use, e.g. "fixed-small".</summary>
    public abstract string Name { get; }

    /// <summary>The head the ε̂ network must carry; <see cref="CovarianceHead.None"/> for scalar rules.</summary>
    public virtual CovarianceHead Head => CovarianceHead.None;

    /// <summary>Whether the rule reads the model's Γ table.</summary>
    public virtual bool NeedsGamma => false;

    /// <summary>Per-dimension rules fill σ²(x) [B, d] (<see cref="Fill"/>); scalar ones return σ² (<see cref="Scalar"/>).</summary>
    public bool PerDimension => Head != CovarianceHead.None;

    /// <summary>σ²_{s|t} of a scalar rule.</summary>
    public virtual double Scalar(in VarianceStep step) =>
        throw new NotSupportedException($"The {Name} variance is per dimension; call Fill.");

    /// <summary>σ²_{s|t}(x) [B, d] of a per-dimension rule from ε̂ and the head's output (h or g), both [B, d].</summary>
    public virtual void Fill(in VarianceStep step, ReadOnlySpan<float> epsilon, ReadOnlySpan<float> head, Span<float> sigma2) =>
        throw new NotSupportedException($"The {Name} variance is scalar; call Scalar.");

    public override string ToString() => Name;
}
