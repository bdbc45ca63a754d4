using System.Numerics.Tensors;

namespace Service.Models.Diffusion;

/// <summary>
/// Reverse-step variances σ²_{s|t} for one generalised step s &lt; t of a trajectory: the handcrafted baselines and the
/// analytic optimum of Analytic-DPM (Bao et al., ICLR 2022, Theorem 1, for the DDIM family of forward processes),
/// scalar or, with an NPR/SN covariance head, per dimension (Bao et al., ICML 2022, §3: SN-DPM and NPR-DPM).
/// </summary>
/// <remarks>
/// <para>Notation:</para>
/// <code>
/// alphaBarS, alphaBarT // ᾱ_s, ᾱ_t
/// betaBarS, betaBarT   // β̄_s = 1 − ᾱ_s, β̄_t
/// lambda2              // λ²_{s|t} = η² β̃_{s|t}, the variance of the forward posterior q(x_s | x_t, x_0); η = 1 is DDPM
/// c                    // √ᾱ_s − √((β̄_s − λ²) ᾱ_t / β̄_t), the weight of x̂₀'s error in the step's mean
/// covariance           // Ĉ_t ≈ E Cov[x₀ | x_t] (scalar, from Γ_t) or Ĉ(x_t) ≈ Cov[x₀ | x_t]_ii (per dimension, from a head)
/// gammaT               // Γ_t = E‖ε̂(x_t, t)‖² / d
/// </code>
/// <para>σ̂² = λ² + c² Ĉ. Ĉ is clamped below at 0 (a covariance), and above at 1 when data lie in [−1, 1]^d, where no
/// coordinate can have a posterior variance above 1; both are the bounds of Analytic-DPM §4 that protect against
/// an imperfect ε̂ (Γ &gt; 1 or a head that overshoots).</para>
/// </remarks>
public static class AnalyticVariance
{
    /// <summary>
    /// σ² cap for the step producing x_{τ₁} with y = 1 pixel: (y · 2/255)² · π/2 ≈ 9.6627e-5 (Analytic-DPM's official code, clip_sigma_idx = 1).
    /// A Gaussian with this σ moves a pixel by y·(2/255) in mean absolute value, so the last noisy step cannot blur the image by more.
    /// </summary>
    public const double ClipCapOnePixel = 1 * 2.0 / 255 * (1 * 2.0 / 255) * Math.PI / 2;

    /// <summary>σ² cap for y = 2 pixels: (2 · 2/255)² · π/2 ≈ 3.8651e-4.</summary>
    public const double ClipCapTwoPixels = 2 * 2.0 / 255 * (2 * 2.0 / 255) * Math.PI / 2;

    /// <summary>(y · 2/255)² · π/2 for y ∈ {1, 2}; y = 0 means no cap (+∞).</summary>
    public static double ClipCap(int pixels) => pixels switch
    {
        0 => double.PositiveInfinity,
        1 => ClipCapOnePixel,
        2 => ClipCapTwoPixels,
        _ => throw new ArgumentOutOfRangeException(nameof(pixels), pixels, "The clip is 0 (none), 1 or 2 pixels."),
    };

    /// <summary>λ²_{s|t} = η² β̃_{s|t} (DDIM, Song et al. 2021, Eq. 16; η = 1 gives DDPM's β̃).</summary>
    public static double Lambda2(NoiseSchedule schedule, int s, int t, double eta)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return eta * eta * schedule.BetaTildeST(s, t);
    }

    /// <summary>c = √ᾱ_s − √((β̄_s − λ²) ᾱ_t / β̄_t), so that σ̂² = λ² + c² Ĉ.</summary>
    public static double MeanCoefficient(NoiseSchedule schedule, int s, int t, double lambda2)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        // β̄_s − λ² ≥ 0 in exact arithmetic (β_{t|s} ≤ β̄_t); the max only absorbs rounding.
        var direction = Math.Max(schedule.BetaBar(s) - lambda2, 0);
        return Math.Sqrt(schedule.AlphaBar(s)) - Math.Sqrt(direction * schedule.AlphaBar(t) / schedule.BetaBar(t));
    }

    /// <summary>Ĉ_t = (β̄_t / ᾱ_t)(1 − Γ_t), clamped to [0, 1] for data in the unit box and to [0, ∞) otherwise.</summary>
    public static double PosteriorCovariance(NoiseSchedule schedule, int t, double gammaT, bool dataInUnitBox)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var covariance = schedule.BetaBar(t) / schedule.AlphaBar(t) * (1 - gammaT);
        return Math.Clamp(covariance, 0, dataInUnitBox ? 1 : double.PositiveInfinity);
    }

    /// <summary>
    /// Analytic-DPM: σ̂²_{s|t} = λ² + c² Ĉ_t with Ĉ_t = (β̄_t/ᾱ_t)(1 − Γ_t) (Bao et al. 2022, Theorem 1 in its
    /// ε-prediction form, with Γ_t estimated by Monte Carlo as in §3).
    /// For DDPM (η = 1) this equals (β_{t|s}/α_{t|s})(1 − β_{t|s} Γ_t / β̄_t) while Ĉ is not clamped.
    /// </summary>
    public static double Optimal(NoiseSchedule schedule, int s, int t, double eta, double gammaT, bool dataInUnitBox)
    {
        var lambda2 = Lambda2(schedule, s, t, eta);
        var c = MeanCoefficient(schedule, s, t, lambda2);
        return lambda2 + c * c * PosteriorCovariance(schedule, t, gammaT, dataInUnitBox);
    }

    /// <summary>DDPM's "fixed small" σ² = β̃_{s|t} (λ² with η = 1).</summary>
    public static double FixedSmall(NoiseSchedule schedule, int s, int t)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return schedule.BetaTildeST(s, t);
    }

    /// <summary>DDPM's "fixed large" σ² = β_{t|s}.</summary>
    public static double FixedLarge(NoiseSchedule schedule, int s, int t)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return schedule.BetaTS(s, t);
    }

    /// <summary>DDIM's σ² = λ² = η² β̃_{s|t} (0 for the deterministic η = 0 sampler).</summary>
    public static double Ddim(NoiseSchedule schedule, int s, int t, double eta) => Lambda2(schedule, s, t, eta);

    /// <summary>
    /// NPR-DPM, per dimension: σ²(x)_i = λ² + c² Ĉ(x)_i with Ĉ(x) = (β̄_t/ᾱ_t) g(x_t), g ≈ E[(ε − ε̂)² | x_t]
    /// (Bao et al., ICML 2022, NPR-DPM), clamped like <see cref="PosteriorCovariance"/>.
    /// </summary>
    /// <param name="schedule">The forward process.</param>
    /// <param name="s">The step's target timestep, 1 ≤ s &lt; t.</param>
    /// <param name="t">The step's source timestep.</param>
    /// <param name="eta">η of λ² = η² β̃_{s|t}: 1 for DDPM.</param>
    /// <param name="g">The NPR head's output [B, d].</param>
    /// <param name="dataInUnitBox">Clamp Ĉ(x) to [0, 1] rather than [0, ∞).</param>
    /// <param name="sigma2">σ² [B, d].</param>
    public static void OptimalNpr(NoiseSchedule schedule, int s, int t, double eta, ReadOnlySpan<float> g, bool dataInUnitBox, Span<float> sigma2)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        CheckLengths(g.Length, sigma2.Length);
        TensorPrimitives.Multiply(g, (float)(schedule.BetaBar(t) / schedule.AlphaBar(t)), sigma2); // Ĉ(x) [B, d]
        FinishPerDimension(schedule, s, t, eta, dataInUnitBox, sigma2);
    }

    /// <summary>
    /// SN-DPM, per dimension: σ²(x)_i = λ² + c² Ĉ(x)_i with Ĉ(x) = (β̄_t/ᾱ_t)(h(x_t) − ε̂(x_t)²), h ≈ E[ε² | x_t]
    /// (Bao et al., ICML 2022, SN-DPM), clamped like <see cref="PosteriorCovariance"/>.
    /// </summary>
    /// <param name="schedule">The forward process.</param>
    /// <param name="s">The step's target timestep, 1 ≤ s &lt; t.</param>
    /// <param name="t">The step's source timestep.</param>
    /// <param name="eta">η of λ² = η² β̃_{s|t}: 1 for DDPM.</param>
    /// <param name="epsilon">ε̂ [B, d].</param>
    /// <param name="h">The SN head's output [B, d].</param>
    /// <param name="dataInUnitBox">Clamp Ĉ(x) to [0, 1] rather than [0, ∞).</param>
    /// <param name="sigma2">σ² [B, d].</param>
    public static void OptimalSn(NoiseSchedule schedule, int s, int t, double eta, ReadOnlySpan<float> epsilon, ReadOnlySpan<float> h, bool dataInUnitBox, Span<float> sigma2)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        CheckLengths(epsilon.Length, sigma2.Length);
        CheckLengths(h.Length, sigma2.Length);
        TensorPrimitives.Multiply(epsilon, epsilon, sigma2); // ε̂² [B, d]
        TensorPrimitives.Subtract(h, sigma2, sigma2); // h − ε̂² ≈ (ᾱ_t/β̄_t) Cov[x₀|x_t]_ii
        TensorPrimitives.Multiply(sigma2, (float)(schedule.BetaBar(t) / schedule.AlphaBar(t)), sigma2); // Ĉ(x)
        FinishPerDimension(schedule, s, t, eta, dataInUnitBox, sigma2);
    }

    /// <summary>Clamps Ĉ(x) in place and maps it to λ² + c² Ĉ(x).</summary>
    static void FinishPerDimension(NoiseSchedule schedule, int s, int t, double eta, bool dataInUnitBox, Span<float> values)
    {
        TensorPrimitives.Max(values, 0f, values);
        if (dataInUnitBox)
            TensorPrimitives.Min(values, 1f, values);
        var lambda2 = Lambda2(schedule, s, t, eta);
        var c = MeanCoefficient(schedule, s, t, lambda2);
        TensorPrimitives.Multiply(values, (float)(c * c), values);
        TensorPrimitives.Add(values, (float)lambda2, values);
    }

    static void CheckLengths(int input, int output)
    {
        if (input != output)
            throw new ArgumentException($"The head and σ² spans must have the same length [B·d]; got {input} and {output}.");
    }
}
