using System.Numerics.Tensors;
using Service.Models.Diffusion.Variances;

namespace Service.Models.Diffusion;

/// <summary>
/// The generalised reverse process on a trajectory τ (DDIM, Song et al. 2021, Eq. 12, with the variances of
/// Analytic-DPM, Bao et al. ICLR 2022, and NPR/SN-DPM, Bao et al. ICML 2022). Stateless: everything a run needs is in
/// its arguments, and the run is a deterministic function of them (including the <see cref="Random"/>'s state).
/// </summary>
/// <remarks>
/// <para>One step s = τ_{k−1} &lt; t = τ_k, for k = K..1 with τ_0 = 0:</para>
/// <code>
/// epsilon   // ε̂ = ε̂(x_t, t) [B, d] (+ the head's h or g)
/// x0        // x̂₀ = (x_t − √β̄_t ε̂)/√ᾱ_t, clamped to [−1, 1] only when the data live there
/// lambda2   // λ² = η² β̃_{s|t} (η = 1 for DDPM)
/// mean      // DDPM: μ = (√ᾱ_s β_{t|s}/β̄_t) x̂₀ + (√α_{t|s} β̄_s/β̄_t) x_t; DDIM: μ = √ᾱ_s x̂₀ + √(β̄_s − λ²) ε̂
/// sigma2    // σ², scalar or [B, d]; capped at k = 2 (the step producing x_{τ₁}) when a pixel clip is set
/// x_s       // μ + σ z, z ~ N(0, I); at k = 1 (s = 0) the output is x̂₀ with no noise
/// </code>
/// <para>The two means agree whenever x̂₀ is not clamped. With clamping they differ, and we follow the official code of
/// both papers: DDPM uses the posterior mean in x_t (reverse_ddpm), DDIM the ε̂ form (reverse_ddim).</para>
/// </remarks>
public static class DiffusionSampler
{
    /// <summary>Runs the reverse process from x_{τ_K} and returns x₀ [B, d].</summary>
    public static float[] Sample(
        IEpsilonModel model,
        DiffusionSamplerSettings settings,
        ReadOnlySpan<float> xStart,
        Random random,
        DiffusionStepCallback? onStep = null,
        CancellationToken cancellationToken = default)
    {
        var output = new float[xStart.Length];
        Sample(model, settings, xStart, output, random, onStep, cancellationToken);
        return output;
    }

    /// <summary>Runs the reverse process from x_{τ_K} into <paramref name="output"/>.</summary>
    /// <param name="model">ε̂, with the head the variance needs.</param>
    /// <param name="settings">Trajectory, process, variance and their inputs.</param>
    /// <param name="xStart">x_{τ_K} [B, d], drawn by the caller (N(0, I), or the exact q(x_N) in tests).</param>
    /// <param name="output">x₀ [B, d]; may be the same span as <paramref name="xStart"/>.</param>
    /// <param name="random">Source of the reverse noise z.</param>
    /// <param name="onStep">Progress and previews; returning false cancels.</param>
    /// <param name="cancellationToken">Checked before each model call.</param>
    /// <exception cref="ArgumentException">Inconsistent settings: a bad trajectory or η, no Γ for analytic, or a model
    /// whose head does not match npr/sn.</exception>
    /// <exception cref="OperationCanceledException">The token fired or <paramref name="onStep"/> returned false.</exception>
    public static void Sample(
        IEpsilonModel model,
        DiffusionSamplerSettings settings,
        ReadOnlySpan<float> xStart,
        Span<float> output,
        Random random,
        DiffusionStepCallback? onStep = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(random);
        Validate(model, settings, xStart.Length, output.Length);

        var schedule = model.Schedule;
        var tau = settings.Trajectory;
        var count = tau.Length;
        var eta = settings.EffectiveEta;
        var cap = AnalyticVariance.ClipCap(settings.ClipPixels);
        var variance = settings.Variance;
        var perDimension = variance.PerDimension;
        var size = xStart.Length;

        var x = output; // x_t, updated in place to x_s [B, d]
        xStart.CopyTo(x);
        var epsilon = new float[size]; // ε̂ [B, d]
        var head = model.Head == CovarianceHead.None ? [] : new float[size]; // h or g [B, d]
        var x0 = new float[size]; // x̂₀ [B, d]
        var noise = new float[size]; // z, then σ z [B, d]
        var sigma2 = perDimension ? new float[size] : []; // σ²(x) [B, d]

        for (var k = count; k >= 1; k--)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // 1. The step's endpoints: t = τ_k → s = τ_{k−1}, with τ_0 = 0.
            var t = tau[k - 1];
            var s = k > 1 ? tau[k - 2] : 0;

            // 2. ε̂ (and the head) at x_t.
            model.Predict(x, t, epsilon, head);

            // 3. x̂₀ = (x_t − √β̄_t ε̂)/√ᾱ_t; the clamp is the prior knowledge that data lie in [−1, 1].
            TensorPrimitives.MultiplyAdd(epsilon, (float)-Math.Sqrt(schedule.BetaBar(t)), x, x0);
            TensorPrimitives.Multiply(x0, (float)(1 / Math.Sqrt(schedule.AlphaBar(t))), x0);
            if (model.DataInUnitBox)
            {
                TensorPrimitives.Max(x0, -1f, x0);
                TensorPrimitives.Min(x0, 1f, x0);
            }

            // 4. Last step: x₀ = x̂₀, without noise (the papers' decoder mean).
            if (s == 0)
            {
                x0.CopyTo(x);
                Report(onStep, new DiffusionStep(k, count, t, s, 0), x0);
                return;
            }

            // 5. σ² of this step (SN reads ε̂ and h, NPR reads g; none of them reads x_t, which step 6 overwrites).
            double meanVariance;
            var scalarVariance = 0.0;
            var step = new VarianceStep(schedule, tau, k, eta, settings.Gamma, model.DataInUnitBox);
            if (perDimension)
            {
                variance.Fill(step, epsilon, head, sigma2);
                if (k == 2 && settings.ClipPixels > 0)
                    TensorPrimitives.Min(sigma2, (float)cap, sigma2);
                meanVariance = TensorPrimitives.Sum<float>(sigma2) / size;
            }
            else
            {
                scalarVariance = variance.Scalar(step);
                // The cap keeps the last noisy step from adding more than y pixels of noise, which the final noiseless
                // step could not remove (Analytic-DPM's clip_sigma_idx = 1).
                if (k == 2 && settings.ClipPixels > 0)
                    scalarVariance = Math.Min(scalarVariance, cap);
                meanVariance = scalarVariance;
            }

            // 6. The mean μ, written over x_t.
            if (settings.Process == DiffusionProcess.Ddpm)
            {
                var betaBarT = schedule.BetaBar(t);
                var x0Weight = Math.Sqrt(schedule.AlphaBar(s)) * schedule.BetaTS(s, t) / betaBarT; // √ᾱ_s β_{t|s}/β̄_t
                var xtWeight = Math.Sqrt(schedule.AlphaTS(s, t)) * schedule.BetaBar(s) / betaBarT; // √α_{t|s} β̄_s/β̄_t
                TensorPrimitives.Multiply(x, (float)xtWeight, x);
                TensorPrimitives.MultiplyAdd(x0, (float)x0Weight, x, x);
            }
            else
            {
                var lambda2 = AnalyticVariance.Lambda2(schedule, s, t, eta);
                var epsilonWeight = Math.Sqrt(Math.Max(schedule.BetaBar(s) - lambda2, 0)); // √(β̄_s − λ²)
                TensorPrimitives.Multiply(epsilon, (float)epsilonWeight, x);
                TensorPrimitives.MultiplyAdd(x0, (float)Math.Sqrt(schedule.AlphaBar(s)), x, x);
            }

            // 7. x_s = μ + σ z. Deterministic steps (σ² = 0, DDIM η = 0 baseline) draw no noise.
            if (perDimension)
            {
                TensorPrimitives.Sqrt(sigma2, sigma2);
                GaussianNoise.Fill(random, noise);
                TensorPrimitives.MultiplyAdd(noise, sigma2, x, x);
            }
            else if (scalarVariance > 0)
            {
                GaussianNoise.Fill(random, noise);
                TensorPrimitives.MultiplyAdd(noise, (float)Math.Sqrt(scalarVariance), x, x);
            }

            // 8. Report; x̂₀ is this step's estimate of the final sample.
            Report(onStep, new DiffusionStep(k, count, t, s, meanVariance), x0);
        }
    }

    static void Report(DiffusionStepCallback? onStep, DiffusionStep step, ReadOnlySpan<float> x0)
    {
        if (onStep is not null && !onStep(step, x0))
            throw new OperationCanceledException($"Sampling was stopped by the step callback at step k = {step.K} (t = {step.T}).");
    }

    static void Validate(IEpsilonModel model, DiffusionSamplerSettings settings, int inputLength, int outputLength)
    {
        var d = model.Dimension;
        if (inputLength == 0 || inputLength % d != 0)
            throw new ArgumentException($"x_{{τ_K}} must be [B, d = {d}] with B ≥ 1; got {inputLength} values.");
        if (outputLength != inputLength)
            throw new ArgumentException($"The output must have the input's length {inputLength}; got {outputLength}.");
        ArgumentNullException.ThrowIfNull(settings.Trajectory);
        Trajectory.Validate(settings.Trajectory, model.Schedule.Steps);
        if (settings.Process == DiffusionProcess.Ddim && !(settings.Eta is >= 0 and <= 1))
            throw new ArgumentException($"η must be in [0, 1]; got {settings.Eta}.");
        if (settings.ClipPixels is < 0 or > 2)
            throw new ArgumentException($"The σ clip is 0 (none), 1 or 2 pixels; got {settings.ClipPixels}.");
        ArgumentNullException.ThrowIfNull(settings.Variance);
        if (settings.Variance.NeedsGamma && (settings.Gamma is null || settings.Gamma.Length != model.Schedule.Steps + 1))
        {
            throw new ArgumentException(
                $"The {settings.Variance.Name} variance needs the Γ table (GammaEstimator.Estimate) with N + 1 = {model.Schedule.Steps + 1} entries; got {settings.Gamma?.Length.ToString() ?? "none"}.");
        }
        if (settings.Variance.Head != CovarianceHead.None && model.Head != settings.Variance.Head)
            throw new ArgumentException($"The {settings.Variance.Name} variance needs a model with an {settings.Variance.Head.ToString().ToUpperInvariant()} head; this model's head is {model.Head}.");
    }
}
