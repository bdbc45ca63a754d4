using Service.Models.Diffusion;
using MathNet.Numerics;

namespace Service.Training.Diffusion.Evaluation;

/// <summary>
/// Terms of the negative ELBO of a DDPM-type reverse process on a trajectory τ (Ho et al. 2020, Eq. 5; Analytic-DPM,
/// Bao et al. 2022, Sec. 4 and App. F), per image, in nats. With 0 = τ_0 &lt; τ_1 &lt; … &lt; τ_K = N:
/// <code>
/// −log p(x₀) ≤ L_N + Σ_{k=2..K} L_{τ_{k−1}|τ_k} + L_0
/// L_N              = KL(q(x_N | x₀) ‖ N(0, I))
/// L_{s|t}          = E_{q(x_t|x₀)} KL(q(x_s | x_t, x₀) ‖ N(μ̂(x_t), σ²_{s|t}))      (one x_t draw per term)
/// L_0              = −E_{q(x_{τ₁}|x₀)} log p(x₀ | x_{τ₁})                          (discretized Gaussian decoder)
/// </code>
/// </summary>
/// <remarks>
/// <para>Notation: alphaBar // ᾱ_n, betaBar // β̄_n = 1 − ᾱ_n, betaTS // β_{t|s} = 1 − ᾱ_t/ᾱ_s,
/// betaTilde // β̃_{s|t} = β_{t|s} β̄_s/β̄_t, x0Hat // x̂₀(x_t) (clamped to [−1, 1] by the caller when the data live there).</para>
/// <para>q(x_s | x_t, x₀) = N(μ̃, β̃_{s|t} I) with μ̃ = (√ᾱ_s β_{t|s}/β̄_t) x₀ + (√α_{t|s} β̄_s/β̄_t) x_t; the model's mean μ̂ is
/// the same expression with x̂₀ in place of x₀, which is the reverse step of <see cref="DiffusionSampler"/> for DDPM.</para>
/// <para>The decoder treats x₀ as 256 levels on [−1, 1] (bins of width 2/255, the outer bins open-ended), so the bound
/// is a discrete negative log-likelihood; bits/dim = nats/(d ln 2).</para>
/// </remarks>
public static class VariationalBound
{
    const double HalfBin = 1.0 / 255;

    /// <summary>L_N = Σ_i KL(N(√ᾱ_N x₀_i, β̄_N) ‖ N(0, 1)) for one image x₀ [d].</summary>
    public static double PriorTerm(NoiseSchedule schedule, ReadOnlySpan<float> x0)
    {
        var n = schedule.Steps;
        double alphaBar = schedule.AlphaBar(n), betaBar = schedule.BetaBar(n);
        var sum = 0.0;
        foreach (var v in x0)
            sum += 0.5 * (alphaBar * v * v + betaBar - 1 - Math.Log(betaBar));
        return sum;
    }

    /// <summary>L_{s|t} for one image with a scalar model variance σ² (fixed or analytic).</summary>
    /// <param name="x0">x₀ [d], the data.</param>
    /// <param name="xt">x_t [d], a draw of q(x_t | x₀).</param>
    /// <param name="x0Hat">x̂₀(x_t) [d].</param>
    public static double TransitionTerm(NoiseSchedule schedule, int s, int t, ReadOnlySpan<float> x0, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0Hat, double sigma2) =>
        TransitionTerm(schedule, s, t, x0, xt, x0Hat, sigma2, []);

    /// <summary>L_{s|t} for one image with a per-dimension model variance σ²(x_t) [d] (NPR, SN).</summary>
    public static double TransitionTerm(NoiseSchedule schedule, int s, int t, ReadOnlySpan<float> x0, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0Hat, ReadOnlySpan<float> sigma2) =>
        TransitionTerm(schedule, s, t, x0, xt, x0Hat, double.NaN, sigma2);

    static double TransitionTerm(
        NoiseSchedule schedule, int s, int t, ReadOnlySpan<float> x0, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0Hat,
        double scalarSigma2, ReadOnlySpan<float> sigma2)
    {
        if (s < 1 || t <= s || t > schedule.Steps)
            throw new ArgumentOutOfRangeException(nameof(s), $"Need 1 ≤ s < t ≤ N; got s = {s}, t = {t}.");
        if (xt.Length != x0.Length || x0Hat.Length != x0.Length || (!sigma2.IsEmpty && sigma2.Length != x0.Length))
            throw new ArgumentException("x₀, x_t, x̂₀ (and σ²) must have the same length.");
        var betaBarT = schedule.BetaBar(t);
        var x0Weight = Math.Sqrt(schedule.AlphaBar(s)) * schedule.BetaTS(s, t) / betaBarT; // √ᾱ_s β_{t|s}/β̄_t
        var betaTilde = schedule.BetaTildeST(s, t);
        var sum = 0.0;
        for (var i = 0; i < x0.Length; i++)
        {
            // μ̃ − μ̂ = x0Weight (x₀ − x̂₀): the x_t parts cancel.
            var meanGap = x0Weight * (x0[i] - x0Hat[i]);
            var variance = sigma2.IsEmpty ? scalarSigma2 : Math.Max(sigma2[i], 1e-20);
            sum += 0.5 * (Math.Log(variance / betaTilde) + (betaTilde + meanGap * meanGap) / variance - 1);
        }
        return sum;
    }

    /// <summary>L_0 = −Σ_i log ∫_{bin(x₀_i)} N(y; μ_i, σ²) dy, the discretized Gaussian decoder (Ho et al. 2020, Eq. 13).</summary>
    /// <param name="x0">x₀ [d] on the 256-level grid of [−1, 1].</param>
    /// <param name="mean">The decoder mean [d] (x̂₀ at x_{τ₁}).</param>
    /// <param name="variance">σ² of the decoder.</param>
    public static double DecoderTerm(ReadOnlySpan<float> x0, ReadOnlySpan<float> mean, double variance)
    {
        if (mean.Length != x0.Length)
            throw new ArgumentException("x₀ and the mean must have the same length.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(variance);
        var scale = Math.Sqrt(2 * variance);
        var sum = 0.0;
        for (var i = 0; i < x0.Length; i++)
        {
            double x = x0[i], mu = mean[i];
            double lower = x - HalfBin, upper = x + HalfBin;
            // Tail masses through erfc keep precision where a difference of CDFs near 1 would cancel:
            // P(y > a) = erfc((a − μ)/(σ√2))/2, P(y < a) = erfc((μ − a)/(σ√2))/2.
            double mass;
            if (x >= 1 - HalfBin)
                mass = Erfc((lower - mu) / scale) / 2;
            else if (x <= -1 + HalfBin)
                mass = Erfc((mu - upper) / scale) / 2;
            else if (x > mu)
                mass = (Erfc((lower - mu) / scale) - Erfc((upper - mu) / scale)) / 2;
            else
                mass = (Erfc((mu - upper) / scale) - Erfc((mu - lower) / scale)) / 2;
            sum -= Math.Log(Math.Max(mass, 1e-12));
        }
        return sum;
    }

    /// <summary>nats per image → bits per dimension.</summary>
    public static double BitsPerDimension(double nats, int dimension) => nats / (dimension * Math.Log(2));

    /// <summary>The grid value of x: the nearest of the 256 levels 2k/255 − 1.</summary>
    public static float Quantize(float x) => (float)(2 * Math.Round((Math.Clamp(x, -1f, 1f) + 1) * 127.5) / 255 - 1);

    static double Erfc(double z) => SpecialFunctions.Erfc(z);
}
