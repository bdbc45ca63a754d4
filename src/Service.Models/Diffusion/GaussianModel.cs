using System.Numerics.Tensors;

namespace Service.Models.Diffusion;

/// <summary>
/// Closed-form reference model for Gaussian data x₀ ~ N(μ, diag s²): ε*(x_n, n) = E[ε | x_n] exactly, with optional
/// oracle SN/NPR heads, the exact posterior covariance and the exact Γ_n and optimal variance.
/// </summary>
/// <remarks>
/// <para>Notation (per dimension i, at timestep n):</para>
/// <code>
/// mean     // μ_i
/// variance // s_i²
/// v        // v_i = ᾱ_n s_i² + β̄_n, the variance of q(x_n)_i
/// epsilon  // ε*_i = √β̄_n (x_i − √ᾱ_n μ_i) / v_i
/// cov      // Cov[x₀ | x_n]_ii = s_i² β̄_n / v_i
/// sn       // h_i = E[ε_i² | x_n] = ε*_i² + (ᾱ_n/β̄_n) Cov_ii = ε*_i² + ᾱ_n s_i² / v_i
/// npr      // g_i = E[(ε_i − ε*_i)² | x_n] = ᾱ_n s_i² / v_i
/// gamma    // Γ_n = E‖ε*‖²/d = (1/d) Σ_i β̄_n / v_i
/// </code>
/// <para>Since x_n is jointly Gaussian with x₀, every quantity is exact; the per-dimension oracle heads make NPR/SN
/// sampling exact step by step, which the tests rely on.</para>
/// </remarks>
public sealed class GaussianModel : IReferenceModel
{
    readonly double[] mean; // μ [d]
    readonly double[] std; // s [d]

    /// <param name="schedule">The forward process.</param>
    /// <param name="mean">μ [d].</param>
    /// <param name="std">s [d], each &gt; 0.</param>
    /// <param name="head">Which oracle head <see cref="Predict"/> fills.</param>
    /// <param name="dataInUnitBox">Declare the data in [−1, 1]^d (lets the sampler clamp); only honest when |μ_i| + 4 s_i ≤ 1.</param>
    /// <param name="name">A label for logs and the registry.</param>
    public GaussianModel(NoiseSchedule schedule, double[] mean, double[] std, CovarianceHead head = CovarianceHead.None, bool dataInUnitBox = false, string name = "gaussian")
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"μ and s need the same, non-zero length; got {mean.Length} and {std.Length}.");
        if (std.Any(s => !(s > 0) || double.IsInfinity(s)))
            throw new ArgumentException("Every s_i must be positive and finite.", nameof(std));
        Schedule = schedule;
        this.mean = (double[])mean.Clone();
        this.std = (double[])std.Clone();
        Head = head;
        DataInUnitBox = dataInUnitBox;
        Name = name;
    }

    /// <summary>The gauss-64 preset: d = 64, μ_i ~ U[−0.5, 0.5] and s_i ~ U[0.05, 0.3] from a fixed seed, linear N = 1000 by default.</summary>
    /// <remarks>Not declared in the unit box: μ + 2 s can reach 1.1, and clamping x̂₀ would bias the exact checks.</remarks>
    public static GaussianModel Gauss64(CovarianceHead head = CovarianceHead.None, NoiseSchedule? schedule = null)
    {
        const int dimension = 64;
        // Seeded System.Random uses a fixed, documented-stable algorithm, so the preset is the same on every runtime.
        var random = new Random(64);
        var mean = new double[dimension];
        var std = new double[dimension];
        for (var i = 0; i < dimension; i++)
        {
            mean[i] = random.NextDouble() - 0.5;
            std[i] = 0.05 + 0.25 * random.NextDouble();
        }
        return new GaussianModel(schedule ?? NoiseSchedule.Linear(1000), mean, std, head, dataInUnitBox: false, name: "gauss-64");
    }

    public string Name { get; }

    public int Dimension => mean.Length;

    public NoiseSchedule Schedule { get; }

    public CovarianceHead Head { get; }

    public bool DataInUnitBox { get; }

    /// <summary>μ [d].</summary>
    public ReadOnlySpan<double> Mean => mean;

    /// <summary>s [d].</summary>
    public ReadOnlySpan<double> Std => std;

    public IReferenceModel WithHead(CovarianceHead head) => new GaussianModel(Schedule, mean, std, head, DataInUnitBox, Name);

    public void Predict(ReadOnlySpan<float> x, int n, Span<float> epsilon, Span<float> head)
    {
        var d = Dimension;
        var rows = CheckRows(x, n, epsilon.Length);
        if (Head != CovarianceHead.None && head.Length != x.Length)
            throw new ArgumentException($"The {Head} head needs [B, d] = {x.Length} values; got {head.Length}.", nameof(head));

        // Per-dimension affine map ε*_i = a_i (x_i − b_i), and the head's constant part ᾱ s_i²/v_i.
        var scale = new float[d]; // a_i = √β̄ / v_i
        var offset = new float[d]; // b_i = √ᾱ μ_i
        var residual = new float[d]; // ᾱ s_i² / v_i = (ᾱ/β̄) Cov_ii
        var alphaBar = Schedule.AlphaBar(n);
        var betaBar = Schedule.BetaBar(n);
        for (var i = 0; i < d; i++)
        {
            var variance = std[i] * std[i];
            var v = alphaBar * variance + betaBar;
            scale[i] = (float)(Math.Sqrt(betaBar) / v);
            offset[i] = (float)(Math.Sqrt(alphaBar) * mean[i]);
            residual[i] = (float)(alphaBar * variance / v);
        }

        for (var r = 0; r < rows; r++)
        {
            var row = epsilon.Slice(r * d, d); // ε* [d]
            TensorPrimitives.Subtract(x.Slice(r * d, d), offset, row);
            TensorPrimitives.Multiply(row, scale, row);
            switch (Head)
            {
                case CovarianceHead.Sn: // h = ε*² + ᾱ s²/v
                    TensorPrimitives.MultiplyAdd(row, row, residual, head.Slice(r * d, d));
                    break;
                case CovarianceHead.Npr: // g = ᾱ s²/v, independent of x for Gaussian data
                    residual.CopyTo(head.Slice(r * d, d));
                    break;
            }
        }
    }

    public void PosteriorCovarianceDiagonal(ReadOnlySpan<float> x, int n, Span<float> covariance)
    {
        var d = Dimension;
        var rows = CheckRows(x, n, covariance.Length);
        var alphaBar = Schedule.AlphaBar(n);
        var betaBar = Schedule.BetaBar(n);
        for (var r = 0; r < rows; r++)
        {
            for (var i = 0; i < d; i++)
            {
                var variance = std[i] * std[i];
                covariance[r * d + i] = (float)(variance * betaBar / (alphaBar * variance + betaBar)); // s² β̄ / v
            }
        }
    }

    /// <summary>Γ_n = (1/d) Σ_i β̄_n / v_i, exactly E‖ε*(x_n, n)‖²/d; Γ_0 = 0.</summary>
    public double ExactGamma(int n)
    {
        if (n == 0)
            return 0;
        var alphaBar = Schedule.AlphaBar(n);
        var betaBar = Schedule.BetaBar(n);
        var sum = 0.0;
        foreach (var s in std)
            sum += betaBar / (alphaBar * s * s + betaBar);
        return sum / Dimension;
    }

    /// <summary>Γ [N + 1] with Γ_n = <see cref="ExactGamma"/> at index n (index 0 is 0), the exact input of the analytic variance.</summary>
    public double[] ExactGammaTable()
    {
        var gamma = new double[Schedule.Steps + 1];
        for (var n = 1; n <= Schedule.Steps; n++)
            gamma[n] = ExactGamma(n);
        return gamma;
    }

    /// <summary>
    /// The exact optimal isotropic variance σ*²_{s|t} = λ² + c² (1/d) Σ_i s_i² β̄_t / v_i, computed from the posterior
    /// covariance directly rather than through Γ (an independent check of <see cref="AnalyticVariance.Optimal"/>).
    /// </summary>
    public double ExactOptimalVariance(int s, int t, double eta)
    {
        var lambda2 = AnalyticVariance.Lambda2(Schedule, s, t, eta);
        var c = AnalyticVariance.MeanCoefficient(Schedule, s, t, lambda2);
        var alphaBar = Schedule.AlphaBar(t);
        var betaBar = Schedule.BetaBar(t);
        var covariance = 0.0;
        foreach (var si in std)
            covariance += si * si * betaBar / (alphaBar * si * si + betaBar);
        return lambda2 + c * c * covariance / Dimension;
    }

    public float[] Sample(Random random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var d = Dimension;
        var x = new float[count * d]; // [count, d]
        GaussianNoise.Fill(random, x);
        for (var r = 0; r < count; r++)
        {
            for (var i = 0; i < d; i++)
                x[r * d + i] = (float)(mean[i] + std[i] * x[r * d + i]);
        }
        return x;
    }

    int CheckRows(ReadOnlySpan<float> x, int n, int outputLength)
    {
        if (n < 1 || n > Schedule.Steps)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"The timestep must be in 1..{Schedule.Steps}.");
        if (x.Length % Dimension != 0 || outputLength != x.Length)
            throw new ArgumentException($"x and the output must both be [B, d = {Dimension}]; got {x.Length} and {outputLength} values.");
        return x.Length / Dimension;
    }
}
