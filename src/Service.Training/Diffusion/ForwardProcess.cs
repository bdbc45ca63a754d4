using System.Numerics.Tensors;
using Service.Models.Diffusion;

namespace Service.Training.Diffusion;

/// <summary>
/// Exact draws from the forward process q(x_n | x₀) = N(√ᾱ_n x₀, β̄_n I) (DDPM, Ho et al. 2020, Eq. 4).
/// </summary>
/// <remarks>Notation: alphaBar // ᾱ_n; betaBar // β̄_n = 1 − ᾱ_n. With x₀ drawn from the data, x_n is an exact draw of
/// the marginal q(x_n), which is how tests start the reverse process from q(x_N) rather than N(0, I).</remarks>
public static class ForwardProcess
{
    /// <summary>x_n = √ᾱ_n x₀ + √β̄_n ε with fresh ε ~ N(0, I).</summary>
    /// <param name="schedule">The forward process.</param>
    /// <param name="n">Timestep 0..N (n = 0 copies x₀).</param>
    /// <param name="x0">x₀ [B, d].</param>
    /// <param name="random">Source of ε.</param>
    /// <param name="xn">x_n [B, d]; may not overlap <paramref name="x0"/> unless it is the same span.</param>
    public static void Sample(NoiseSchedule schedule, int n, ReadOnlySpan<float> x0, Random random, Span<float> xn)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (n < 0 || n > schedule.Steps)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"The timestep must be in 0..{schedule.Steps}.");
        if (x0.Length != xn.Length)
            throw new ArgumentException($"x₀ and x_n must have the same length; got {x0.Length} and {xn.Length}.");
        // Drawn into a scratch buffer so that x_n may be x₀ itself (in-place noising).
        var noise = new float[xn.Length]; // ε [B, d]
        GaussianNoise.Fill(random, noise);
        TensorPrimitives.Multiply(noise, (float)Math.Sqrt(schedule.BetaBar(n)), noise);
        TensorPrimitives.MultiplyAdd(x0, (float)Math.Sqrt(schedule.AlphaBar(n)), noise, xn);
    }
}
