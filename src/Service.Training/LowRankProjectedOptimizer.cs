using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Service.Training;

/// <summary>What the optimizer keeps between steps, always in the compressed (projected) coordinates.</summary>
public enum ProjectedState
{
    /// <summary>Heavy-ball momentum M ← βM + g; carried across resamples by re-projection (Flora).</summary>
    Momentum,

    /// <summary>Adam first and second moments; restarted (with bias correction) at each resample.</summary>
    Adam,
}

public sealed record LowRankProjectedOptions
{
    /// <summary>r, the rank of each random projection (the update has rank ≤ 2r).</summary>
    public int Rank { get; init; } = 8;

    /// <summary>κ: U and V are redrawn every κ steps (1 = every step).</summary>
    public int ResampleEvery { get; init; } = 1;

    public double LearningRate { get; init; } = 1e-3;
    public ProjectedState State { get; init; } = ProjectedState.Adam;

    /// <summary>β for <see cref="ProjectedState.Momentum"/>, β₁ for <see cref="ProjectedState.Adam"/>.</summary>
    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Decoupled (AdamW-style) weight decay: W ← W − lr·wd·W each step.</summary>
    public double WeightDecay { get; init; }

    public long Seed { get; init; }
}

/// <summary>
/// "LoRA as an optimizer": trains the full weights W, but each step applies only a random low-rank projection of
/// the gradient G = ∂L/∂W and keeps optimizer state only in the projected space (Flora, Hao et al., ICML 2024).
/// </summary>
/// <remarks>
/// <para><b>Why.</b> For W = W₀ + U V with U [m×r], V [r×n], LoRA's gradients are ∂L/∂U = G Vᵀ and ∂L/∂V = Uᵀ G, so
/// one SGD step changes U V by −η (G VᵀV + U UᵀG) + O(η²): LoRA is SGD on the projection
/// P(G) = G VᵀV + U UᵀG. Here U and V are random and redrawn every κ steps instead of learnt, and the step is
/// applied to W directly.</para>
/// <para><b>Scaling.</b> U and V have i.i.d. N(0, 1/r) entries. Then E[(VᵀV)_{jk}] = Σ_{a=1..r} E[V_{aj} V_{ak}]
/// = r · (1/r) · δ_{jk}, i.e. E[VᵀV] = I_n, and likewise E[U Uᵀ] = I_m. By linearity (G fixed, U and V independent),
/// E[P(G)] = G·I + I·G = 2G: <see cref="ExpectationFactor"/> c = 2. The step divides by c, so with no state
/// (β = 0) the expected update is exactly SGD's −η G. P(G) has rank ≤ 2r (a sum of two rank-≤r terms).
/// Its variance is large (E[(VᵀV)²] = (1 + (n+1)/r) I for this Wishart), which is what momentum across steps
/// averages out.</para>
/// <para><b>State.</b> P(G) = (G Vᵀ) V + U (Uᵀ G): the optimizer keeps the compressed gradients A = G Vᵀ [m×r] and
/// B = Uᵀ G [r×n] (the shapes of LoRA's own gradients) and its state for them, never an m×n buffer:
/// <list type="bullet">
/// <item>Momentum: M_A ← β M_A + A, M_B ← β M_B + B; W ← W − (η/c)(M_A V + U M_B). On a resample (U, V) → (U′, V′)
/// the state is re-projected, M_A ← M_A V V′ᵀ and M_B ← U′ᵀ U M_B, whose decompressions are unbiased for the old
/// ones (E[V′ᵀV′] = I). Unbiased, but not free: E‖D V′ᵀV′‖² = (1 + (n+1)/r)‖D‖² for the decompressed momentum D
/// (likewise (1 + (m+1)/r) on the U side), while β^κ is all it decays by between resamples. Momentum therefore
/// needs β^{2κ}(1 + (max(m, n)+1)/r) &lt; 1, i.e. a long κ (MiniLM's 1536-wide FFN at r = 8, β = 0.9: κ ≳ 25);
/// with κ = 1 use β = 0 (projected SGD) or <see cref="ProjectedState.Adam"/>.</item>
/// <item>Adam: bias-corrected moments of A and B elementwise; W ← W − (η/c)(Â V + U B̂) with Â = m̂_A / (√v̂_A + ε).
/// The compressed coordinates change meaning on a resample, so the moments restart there.</item>
/// </list>
/// Parameters with fewer than two dimensions, or with r ≥ min(m, n) (no saving), get the same rule on the full
/// gradient (plain momentum SGD or Adam).</para>
/// </remarks>
public sealed class LowRankProjectedOptimizer : IDisposable
{
    /// <summary>c in E[G VᵀV + U UᵀG] = c·G.</summary>
    public const double ExpectationFactor = 2;

    readonly LowRankProjectedOptions options;
    readonly List<Slot> slots;
    readonly Generator generator;
    long steps;

    public LowRankProjectedOptimizer(IEnumerable<Parameter> parameters, LowRankProjectedOptions options)
    {
        if (options.Rank <= 0 || options.ResampleEvery <= 0 || options.LearningRate <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), "rank, κ and the learning rate must be positive.");
        this.options = options;
        generator = new Generator((ulong)options.Seed);
        slots = parameters.Where(p => p.requires_grad).Select(p => new Slot(p, p.dim() == 2 && options.Rank < Math.Min(p.shape[0], p.shape[1]))).ToList();
    }

    public long Steps => steps;

    /// <summary>How many parameters are updated through a projection (the rest, e.g. biases, get full-rank updates).</summary>
    public int ProjectedParameterCount => slots.Count(s => s.Projected);

    /// <summary>Elements held as optimizer state (moments), excluding the projections U, V themselves.</summary>
    public long StateElementCount => slots.Sum(s =>
        (s.FirstA?.numel() ?? 0) + (s.FirstB?.numel() ?? 0) + (s.SecondA?.numel() ?? 0) + (s.SecondB?.numel() ?? 0));

    /// <summary>Draws U [m×r] and V [r×n] with i.i.d. N(0, 1/r) entries, so E[U Uᵀ] = I_m and E[VᵀV] = I_n.</summary>
    public static (Tensor U, Tensor V) SampleProjections(long m, long n, int rank, Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var std = 1.0 / Math.Sqrt(rank);
        return (randn([m, rank], dtype, device, generator: generator).mul_(std), randn([rank, n], dtype, device, generator: generator).mul_(std));
    }

    /// <summary>P(G) = G VᵀV + U UᵀG [m×n]; E over U, V is <see cref="ExpectationFactor"/>·G.</summary>
    public static Tensor Project(Tensor gradient, Tensor u, Tensor v)
    {
        using var scope = NewDisposeScope();
        return (gradient.matmul(v.t()).matmul(v) + u.matmul(u.t().matmul(gradient))).MoveToOuterDisposeScope();
    }

    public void ZeroGrad()
    {
        foreach (var slot in slots)
            slot.Parameter.grad?.zero_();
    }

    public void Step()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var resample = steps % options.ResampleEvery == 0;
        foreach (var slot in slots)
        {
            using var gradient = slot.Parameter.grad;
            if (gradient is null)
                continue;
            if (options.WeightDecay > 0)
                slot.Parameter.mul_(1 - options.LearningRate * options.WeightDecay);
            if (slot.Projected)
                StepProjected(slot, gradient, resample);
            else
                StepDense(slot, gradient);
        }
        steps++;
    }

    void StepProjected(Slot slot, Tensor gradient, bool resample)
    {
        var p = slot.Parameter;
        if (resample || slot.U is null)
        {
            var (u, v) = SampleProjections(p.shape[0], p.shape[1], options.Rank, generator, p.dtype, p.device);
            u.DetachFromDisposeScope();
            v.DetachFromDisposeScope();
            if (options.State == ProjectedState.Momentum && slot.FirstA is not null && slot.FirstB is not null)
            {
                // Flora's transfer: re-express the momentum in the new projection, unbiased for the old one.
                slot.ReplaceState(
                    slot.FirstA.matmul(slot.V!).matmul(v.t()),
                    u.t().matmul(slot.U!).matmul(slot.FirstB),
                    null, null);
            }
            else
            {
                slot.ClearState();
            }
            slot.SetProjections(u, v);
            slot.SubspaceSteps = 0;
        }

        var a = gradient.matmul(slot.V!.t());    // G Vᵀ  [m×r]
        var b = slot.U!.t().matmul(gradient);    // Uᵀ G  [r×n]
        var (stepA, stepB) = Update(slot, a, b);
        // W ← W − (η/c) (stepA V + U stepB)
        p.sub_(stepA.matmul(slot.V).add_(slot.U.matmul(stepB)).mul_(options.LearningRate / ExpectationFactor));
    }

    void StepDense(Slot slot, Tensor gradient)
    {
        var (step, _) = Update(slot, gradient, null);
        slot.Parameter.sub_(step.mul(options.LearningRate));
    }

    // One optimizer update in whatever coordinates a and b live in; returns the directions to decompress.
    (Tensor A, Tensor? B) Update(Slot slot, Tensor a, Tensor? b)
    {
        slot.SubspaceSteps++;
        if (options.State == ProjectedState.Momentum)
        {
            if (options.Beta1 == 0)
                return (a, b);
            slot.FirstA = Accumulate(slot.FirstA, a, options.Beta1, 1);
            if (b is not null)
                slot.FirstB = Accumulate(slot.FirstB, b, options.Beta1, 1);
            return (slot.FirstA, slot.FirstB);
        }

        double beta1 = options.Beta1, beta2 = options.Beta2;
        var correction1 = 1 - Math.Pow(beta1, slot.SubspaceSteps);
        var correction2 = 1 - Math.Pow(beta2, slot.SubspaceSteps);
        Tensor Direction(Tensor first, Tensor second) =>
            first.div(correction1).div_(second.div(correction2).sqrt_().add_(options.Epsilon));

        slot.FirstA = Accumulate(slot.FirstA, a, beta1, 1 - beta1);
        slot.SecondA = Accumulate(slot.SecondA, a.square(), beta2, 1 - beta2);
        Tensor? directionB = null;
        if (b is not null)
        {
            slot.FirstB = Accumulate(slot.FirstB, b, beta1, 1 - beta1);
            slot.SecondB = Accumulate(slot.SecondB, b.square(), beta2, 1 - beta2);
            directionB = Direction(slot.FirstB, slot.SecondB);
        }
        return (Direction(slot.FirstA, slot.SecondA), directionB);
    }

    // state ← decay·state + weight·value, allocating (outside the step's dispose scope) on first use.
    static Tensor Accumulate(Tensor? state, Tensor value, double decay, double weight)
    {
        if (state is null)
            return value.mul(weight).DetachFromDisposeScope();
        return state.mul_(decay).add_(value, weight);
    }

    public void Dispose()
    {
        foreach (var slot in slots)
        {
            slot.ClearState();
            slot.SetProjections(null, null);
        }
        generator.Dispose();
    }

    sealed class Slot(Parameter parameter, bool projected)
    {
        public Parameter Parameter { get; } = parameter;
        public bool Projected { get; } = projected;
        public Tensor? U { get; private set; }
        public Tensor? V { get; private set; }
        public Tensor? FirstA { get; set; }
        public Tensor? FirstB { get; set; }
        public Tensor? SecondA { get; set; }
        public Tensor? SecondB { get; set; }
        public int SubspaceSteps { get; set; }

        public void SetProjections(Tensor? u, Tensor? v)
        {
            U?.Dispose();
            V?.Dispose();
            (U, V) = (u, v);
        }

        public void ReplaceState(Tensor? firstA, Tensor? firstB, Tensor? secondA, Tensor? secondB)
        {
            firstA?.DetachFromDisposeScope();
            firstB?.DetachFromDisposeScope();
            secondA?.DetachFromDisposeScope();
            secondB?.DetachFromDisposeScope();
            ClearState();
            (FirstA, FirstB, SecondA, SecondB) = (firstA, firstB, secondA, secondB);
        }

        public void ClearState()
        {
            FirstA?.Dispose();
            FirstB?.Dispose();
            SecondA?.Dispose();
            SecondB?.Dispose();
            (FirstA, FirstB, SecondA, SecondB) = (null, null, null, null);
        }
    }
}
