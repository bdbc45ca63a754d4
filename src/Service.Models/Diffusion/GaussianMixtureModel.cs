namespace Service.Models.Diffusion;

/// <summary>
/// Closed-form reference model for an isotropic Gaussian mixture x₀ ~ Σ_k π_k N(m_k, s_k² I): the exact
/// ε*(x_n, n) = E[ε | x_n], Cov[x₀ | x_n] and oracle SN/NPR heads. Unlike the single Gaussian, Γ_n has no closed form
/// and the posterior covariance depends on x_n, so it exercises the Monte Carlo Γ and per-dimension heads.
/// </summary>
/// <remarks>
/// <para>Notation (component k, dimension i, timestep n):</para>
/// <code>
/// weights    // π_k
/// means      // m_k [K, d]
/// std        // s_k
/// v          // v_k = ᾱ_n s_k² + β̄_n; q(x_n | k) = N(√ᾱ_n m_k, v_k I)
/// w          // w_k(x) = π_k N(x; √ᾱ_n m_k, v_k I) / Σ_j π_j N(x; √ᾱ_n m_j, v_j I), by log-sum-exp
/// epsilon    // ε* = √β̄_n Σ_k w_k (x − √ᾱ_n m_k) / v_k
/// a          // a_k = E[x₀ | x, k] = m_k + √ᾱ_n s_k² (x − √ᾱ_n m_k) / v_k
/// cov        // Cov_ii = Σ_k w_k s_k² β̄_n / v_k + Σ_k w_k (a_{k,i} − ā_i)², ā = Σ_k w_k a_k (law of total variance)
/// sn, npr    // h = ε*² + (ᾱ_n/β̄_n) Cov_ii, g = (ᾱ_n/β̄_n) Cov_ii
/// </code>
/// <para>Cov is summed as within- plus between-component variance rather than Σ w (…+ a²) − ā², which cancels
/// catastrophically when the components are far apart relative to s_k.</para>
/// </remarks>
public sealed class GaussianMixtureModel : IReferenceModel
{
    readonly double[] weights; // π [K]
    readonly double[] logWeights; // log π [K]
    readonly double[] means; // m [K, d]
    readonly double[] std; // s [K]

    /// <param name="schedule">The forward process.</param>
    /// <param name="weights">π [K], positive; normalised here.</param>
    /// <param name="means">m [K, d], row-major.</param>
    /// <param name="std">s [K], each &gt; 0.</param>
    /// <param name="head">Which oracle head <see cref="Predict"/> fills.</param>
    /// <param name="dataInUnitBox">Declare the data in [−1, 1]^d (lets the sampler clamp x̂₀ and Ĉ).</param>
    /// <param name="name">A label for logs and the registry.</param>
    public GaussianMixtureModel(NoiseSchedule schedule, double[] weights, double[] means, double[] std, CovarianceHead head = CovarianceHead.None, bool dataInUnitBox = false, string name = "gaussian-mixture")
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(means);
        ArgumentNullException.ThrowIfNull(std);
        var components = weights.Length;
        if (components == 0 || std.Length != components || means.Length == 0 || means.Length % components != 0)
            throw new ArgumentException($"Need K ≥ 1 weights, K standard deviations and K·d means; got {weights.Length}, {std.Length}, {means.Length}.");
        if (weights.Any(p => !(p > 0) || double.IsInfinity(p)) || std.Any(s => !(s > 0) || double.IsInfinity(s)))
            throw new ArgumentException("Weights and standard deviations must be positive and finite.");
        var total = weights.Sum();
        Schedule = schedule;
        this.weights = weights.Select(p => p / total).ToArray();
        logWeights = this.weights.Select(p => Math.Log(p)).ToArray();
        this.means = (double[])means.Clone();
        this.std = (double[])std.Clone();
        Dimension = means.Length / components;
        Head = head;
        DataInUnitBox = dataInUnitBox;
        Name = name;
    }

    /// <summary>
    /// The gmm-2d preset: 8 equally weighted components on a circle of radius 0.7 in 2-D, s = 0.05, linear N = 1000 by
    /// default. |x| ≤ 0.7 + 5 s = 0.95 except with probability ~1e-7, so it is declared in the unit box.
    /// </summary>
    public static GaussianMixtureModel Gmm2D(CovarianceHead head = CovarianceHead.None, NoiseSchedule? schedule = null)
    {
        const int components = 8;
        const double radius = 0.7;
        var means = new double[components * 2];
        for (var k = 0; k < components; k++)
        {
            var (sin, cos) = Math.SinCos(2 * Math.PI * k / components);
            means[2 * k] = radius * cos;
            means[2 * k + 1] = radius * sin;
        }
        return new GaussianMixtureModel(
            schedule ?? NoiseSchedule.Linear(1000),
            Enumerable.Repeat(1.0, components).ToArray(),
            means,
            Enumerable.Repeat(0.05, components).ToArray(),
            head,
            dataInUnitBox: true,
            name: "gmm-2d");
    }

    public string Name { get; }

    public int Dimension { get; }

    public NoiseSchedule Schedule { get; }

    public CovarianceHead Head { get; }

    public bool DataInUnitBox { get; }

    /// <summary>K, the number of components.</summary>
    public int Components => weights.Length;

    public IReferenceModel WithHead(CovarianceHead head) => new GaussianMixtureModel(Schedule, weights, means, std, head, DataInUnitBox, Name);

    public void Predict(ReadOnlySpan<float> x, int n, Span<float> epsilon, Span<float> head)
    {
        var rows = CheckRows(x, n, epsilon.Length);
        if (Head != CovarianceHead.None && head.Length != x.Length)
            throw new ArgumentException($"The {Head} head needs [B, d] = {x.Length} values; got {head.Length}.", nameof(head));

        var d = Dimension;
        var scratch = Prepare(n);
        var ratio = Schedule.AlphaBar(n) / Schedule.BetaBar(n); // ᾱ/β̄
        for (var r = 0; r < rows; r++)
        {
            var needCovariance = Head != CovarianceHead.None;
            Posterior(x.Slice(r * d, d), n, scratch, needCovariance);
            for (var i = 0; i < d; i++)
            {
                var e = scratch.Epsilon[i];
                epsilon[r * d + i] = (float)e;
                if (Head == CovarianceHead.Sn)
                    head[r * d + i] = (float)(e * e + ratio * scratch.Covariance[i]);
                else if (Head == CovarianceHead.Npr)
                    head[r * d + i] = (float)(ratio * scratch.Covariance[i]);
            }
        }
    }

    public void PosteriorCovarianceDiagonal(ReadOnlySpan<float> x, int n, Span<float> covariance)
    {
        var rows = CheckRows(x, n, covariance.Length);
        var d = Dimension;
        var scratch = Prepare(n);
        for (var r = 0; r < rows; r++)
        {
            Posterior(x.Slice(r * d, d), n, scratch, covariance: true);
            for (var i = 0; i < d; i++)
                covariance[r * d + i] = (float)scratch.Covariance[i];
        }
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
            var k = PickComponent(random.NextDouble());
            for (var i = 0; i < d; i++)
                x[r * d + i] = (float)(means[k * d + i] + std[k] * x[r * d + i]);
        }
        return x;
    }

    /// <summary>Fills the scratch's ε* [d] and, when asked, Cov[x₀|x]_ii [d] for one row x [d].</summary>
    void Posterior(ReadOnlySpan<float> x, int n, Scratch scratch, bool covariance)
    {
        var d = Dimension;
        var alphaBar = Schedule.AlphaBar(n);
        var betaBar = Schedule.BetaBar(n);
        var sqrtAlphaBar = Math.Sqrt(alphaBar);
        var w = scratch.Weights; // log w_k, then w_k

        // 1. log w_k = log π_k − (d/2) log v_k − ‖x − √ᾱ m_k‖² / (2 v_k), dropping the shared −(d/2) log 2π.
        var max = double.NegativeInfinity;
        for (var k = 0; k < Components; k++)
        {
            var v = scratch.V[k];
            var squared = 0.0;
            for (var i = 0; i < d; i++)
            {
                var diff = x[i] - sqrtAlphaBar * means[k * d + i];
                squared += diff * diff;
            }
            w[k] = logWeights[k] - 0.5 * d * scratch.LogV[k] - squared / (2 * v);
            max = Math.Max(max, w[k]);
        }

        // 2. Softmax by log-sum-exp: subtracting the max keeps exp from underflowing every component at small β̄,
        //    where the exponents reach −1e5 and more.
        var sum = 0.0;
        for (var k = 0; k < Components; k++)
        {
            w[k] = Math.Exp(w[k] - max);
            sum += w[k];
        }
        for (var k = 0; k < Components; k++)
            w[k] /= sum;

        // 3. ε* = √β̄ Σ_k w_k (x − √ᾱ m_k) / v_k and ā = Σ_k w_k a_k.
        var epsilon = scratch.Epsilon;
        var posteriorMean = scratch.PosteriorMean;
        Array.Clear(epsilon);
        Array.Clear(posteriorMean);
        var within = 0.0; // Σ_k w_k s_k² β̄ / v_k, the same for every dimension
        for (var k = 0; k < Components; k++)
        {
            var variance = std[k] * std[k];
            var v = scratch.V[k];
            within += w[k] * variance * betaBar / v;
            for (var i = 0; i < d; i++)
            {
                var diff = x[i] - sqrtAlphaBar * means[k * d + i];
                epsilon[i] += w[k] * diff / v;
                posteriorMean[i] += w[k] * (means[k * d + i] + sqrtAlphaBar * variance * diff / v);
            }
        }
        for (var i = 0; i < d; i++)
            epsilon[i] *= Math.Sqrt(betaBar);
        if (!covariance)
            return;

        // 4. Cov_ii = within + Σ_k w_k (a_{k,i} − ā_i)².
        var result = scratch.Covariance;
        Array.Fill(result, within);
        for (var k = 0; k < Components; k++)
        {
            var variance = std[k] * std[k];
            var v = scratch.V[k];
            for (var i = 0; i < d; i++)
            {
                var a = means[k * d + i] + sqrtAlphaBar * variance * (x[i] - sqrtAlphaBar * means[k * d + i]) / v;
                var between = a - posteriorMean[i];
                result[i] += w[k] * between * between;
            }
        }
    }

    /// <summary>Work arrays for one call at timestep n, with v_k and log v_k computed once rather than per row.</summary>
    Scratch Prepare(int n)
    {
        var scratch = new Scratch(Components, Dimension);
        for (var k = 0; k < Components; k++)
        {
            scratch.V[k] = Schedule.AlphaBar(n) * std[k] * std[k] + Schedule.BetaBar(n);
            scratch.LogV[k] = Math.Log(scratch.V[k]);
        }
        return scratch;
    }

    int PickComponent(double u)
    {
        for (var k = 0; k < Components - 1; k++)
        {
            u -= weights[k];
            if (u < 0)
                return k;
        }
        return Components - 1;
    }

    int CheckRows(ReadOnlySpan<float> x, int n, int outputLength)
    {
        if (n < 1 || n > Schedule.Steps)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"The timestep must be in 1..{Schedule.Steps}.");
        if (x.Length % Dimension != 0 || outputLength != x.Length)
            throw new ArgumentException($"x and the output must both be [B, d = {Dimension}]; got {x.Length} and {outputLength} values.");
        return x.Length / Dimension;
    }

    /// <summary>Per-call work arrays, so that callers sharing a preset instance do not interfere.</summary>
    sealed class Scratch(int components, int dimension)
    {
        public readonly double[] V = new double[components]; // v_k [K]
        public readonly double[] LogV = new double[components]; // log v_k [K]
        public readonly double[] Weights = new double[components]; // w [K]
        public readonly double[] Epsilon = new double[dimension]; // ε* [d]
        public readonly double[] PosteriorMean = new double[dimension]; // ā [d]
        public readonly double[] Covariance = new double[dimension]; // Cov_ii [d]
    }
}
