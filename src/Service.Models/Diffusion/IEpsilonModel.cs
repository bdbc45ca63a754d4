namespace Service.Models.Diffusion;

/// <summary>Which per-dimension covariance head a model carries (Extended-Analytic-DPM).</summary>
public enum CovarianceHead
{
    None,
    /// <summary>SN: h(x_n) ≈ E[ε² | x_n], trained with ‖ε² − h‖².</summary>
    Sn,
    /// <summary>NPR: g(x_n) ≈ E[(ε − ε̂)² | x_n], trained with ‖stopgrad(ε − ε̂)² − g‖².</summary>
    Npr,
}

/// <summary>
/// A noise-prediction network ε̂(x_n, n) of a diffusion model, optionally with a covariance head that
/// shares the forward pass. Implemented by the trained UNet (TorchSharp) and by closed-form reference
/// models (Gaussian, Gaussian mixture). Calls come from one thread at a time.
/// </summary>
public interface IEpsilonModel
{
    /// <summary>d, the data dimension (e.g. 784 for 28×28 images).</summary>
    int Dimension { get; }

    /// <summary>The forward process the model was trained for (N steps).</summary>
    NoiseSchedule Schedule { get; }

    /// <summary>The head <see cref="Predict"/> fills, or <see cref="CovarianceHead.None"/>.</summary>
    CovarianceHead Head { get; }

    /// <summary>True when data lie in [−1, 1]^d, so x̂₀ and Ĉ may be clamped as the papers do for images.</summary>
    bool DataInUnitBox { get; }

    /// <param name="x">x_n, row-major [B, d].</param>
    /// <param name="n">Timestep n in 1..N, shared by the batch.</param>
    /// <param name="epsilon">ε̂(x_n, n) [B, d].</param>
    /// <param name="head">The head's output [B, d] when <see cref="Head"/> is not None; otherwise empty and ignored.</param>
    void Predict(ReadOnlySpan<float> x, int n, Span<float> epsilon, Span<float> head);
}
