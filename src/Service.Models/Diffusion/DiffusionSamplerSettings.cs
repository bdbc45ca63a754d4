using Service.Models.Diffusion.Variances;

namespace Service.Models.Diffusion;

/// <summary>The family of forward processes the reverse steps are derived from.</summary>
public enum DiffusionProcess
{
    /// <summary>DDPM: λ²_{s|t} = β̃_{s|t} (η = 1); the mean is the posterior mean of q(x_s | x_t, x̂₀).</summary>
    Ddpm,

    /// <summary>DDIM: λ²_{s|t} = η² β̃_{s|t}; μ = √ᾱ_s x̂₀ + √(β̄_s − λ²) ε̂.</summary>
    Ddim,
}

/// <summary>
/// What <see cref="DiffusionSampler"/> runs: the trajectory, the process, the variance and its inputs.
/// </summary>
/// <param name="Trajectory">τ_1 &lt; … &lt; τ_K within 1..N (see <see cref="Diffusion.Trajectory"/>); τ_0 = 0 is implicit.</param>
/// <param name="Process">DDPM or DDIM.</param>
/// <param name="Variance">The σ² rule (<see cref="ReverseVariances"/>).</param>
/// <param name="Eta">η ∈ [0, 1] for DDIM; ignored (taken as 1) for DDPM.</param>
/// <param name="Gamma">Γ [N + 1] from <see cref="GammaEstimator"/>; required by rules that read it (<see cref="ReverseVariance.NeedsGamma"/>).</param>
/// <param name="ClipPixels">y ∈ {0, 1, 2}: cap σ² ≤ (y · 2/255)² π/2 at the step producing x_{τ₁}; 0 = no cap.
/// The official settings use y = 2 for Analytic-DDPM on the linear schedule and y = 1 otherwise.</param>
public sealed record DiffusionSamplerSettings(
    int[] Trajectory,
    DiffusionProcess Process,
    ReverseVariance Variance,
    double Eta = 0,
    double[]? Gamma = null,
    int ClipPixels = 0)
{
    /// <summary>η of the step's λ²: 1 for DDPM, <see cref="Eta"/> for DDIM.</summary>
    public double EffectiveEta => Process == DiffusionProcess.Ddpm ? 1 : Eta;

    /// <summary>Parses ddpm | ddim.</summary>
    public static DiffusionProcess ParseProcess(string name) => name switch
    {
        "ddpm" => DiffusionProcess.Ddpm,
        "ddim" => DiffusionProcess.Ddim,
        _ => throw new ArgumentException($"Unknown process '{name}'; use ddpm or ddim.", nameof(name)),
    };
}

/// <summary>What the sampler reports after each step.</summary>
/// <param name="K">k, the trajectory index of the step's source τ_k; counts down K..1.</param>
/// <param name="Count">K, the number of steps.</param>
/// <param name="T">t = τ_k, the step's source timestep.</param>
/// <param name="S">s = τ_{k−1}, the target (0 for the last step, which outputs x̂₀).</param>
/// <param name="MeanVariance">σ² of the step after the cap, averaged over the batch and dimensions; 0 for the last step.</param>
public readonly record struct DiffusionStep(int K, int Count, int T, int S, double MeanVariance);

/// <summary>Called after each reverse step with the step and x̂₀ [B, d] (a preview of the final sample).</summary>
/// <returns>false to stop sampling; the sampler then throws <see cref="OperationCanceledException"/>.</returns>
public delegate bool DiffusionStepCallback(DiffusionStep step, ReadOnlySpan<float> predictedX0);
