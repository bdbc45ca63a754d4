using Service.Models.Torch;
using TorchSharp;
using static TorchSharp.torch;
using Service.Training;

namespace Service.Tests.TextTorch;

public sealed class LossTests
{
    public LossTests() => TorchRuntime.EnsureInitialized();

    static double CoSent(double lambda, double[] scores, double[] labels)
    {
        using var scope = NewDisposeScope();
        return new CoSentLoss(lambda).Compute(tensor(scores), tensor(labels)).item<double>();
    }

    // Worked by hand from L = log(1 + Σ_{label(i) > label(j)} exp(λ (s_j − s_i))):
    //
    // 1. s = [0.2, 0.3], labels [1, 0], λ = 20. One counted pair (i=0, j=1): exp(20 · (0.3 − 0.2)) = e² = 7.389056.
    //    L = log(1 + 7.389056) = log 8.389056 = 2.126928. (The positive scored lower: a large loss.)
    // 2. s = [0.5, 0.4, 0.6], labels [2, 1, 0], λ = 20. Pairs (0,1): e^{20(0.4−0.5)} = e^{−2} = 0.135335;
    //    (0,2): e^{20(0.6−0.5)} = e² = 7.389056; (1,2): e^{20(0.6−0.4)} = e⁴ = 54.598150.
    //    L = log(1 + 62.122541) = log 63.122541 = 4.145078.
    // 3. Raw cross-encoder scores, λ = 1: s = [2.0, 1.0, 1.5, −1.0], labels [1, 1, 0, 0]. The tied pairs (0,1) and
    //    (2,3) do not count. (0,2): e^{1.5−2} = e^{−0.5} = 0.606531; (0,3): e^{−1−2} = e^{−3} = 0.049787;
    //    (1,2): e^{1.5−1} = e^{0.5} = 1.648721; (1,3): e^{−1−1} = e^{−2} = 0.135335. Sum 2.440374.
    //    L = log 3.440374 = 1.235580.
    // 4. All labels equal: nothing is counted, L = log(1 + 0) = 0.
    [Fact]
    public void CoSent_matches_hand_computed_values()
    {
        Assert.Equal(2.126928, CoSent(20, [0.2, 0.3], [1, 0]), 5);
        Assert.Equal(4.145078, CoSent(20, [0.5, 0.4, 0.6], [2, 1, 0]), 5);
        Assert.Equal(1.235580, CoSent(1, [2.0, 1.0, 1.5, -1.0], [1, 1, 0, 0]), 5);
        Assert.Equal(0.0, CoSent(20, [0.9, -0.3, 0.1], [1, 1, 1]), 12);
        // Order of the batch does not matter; only label order does (example 2 shuffled, labels rescaled).
        Assert.Equal(4.145078, CoSent(20, [0.6, 0.5, 0.4], [-1, 7, 3]), 5);
        // float32 works too (cosines from an encoder).
        using var scope = NewDisposeScope();
        Assert.Equal(2.126928f, CoSentLoss.ForCosine().Compute(tensor(new[] { 0.2f, 0.3f }), tensor(new[] { 1f, 0f })).item<float>(), 4);
    }

    [Fact]
    public void CoSent_gradient_equals_central_finite_differences()
    {
        using var scope = NewDisposeScope();
        double[] s0 = [0.31, -0.12, 0.55, 0.08, 0.27];
        double[] labels = [2, 0, 1, 1, 0];
        var loss = new CoSentLoss(5);
        var scores = tensor(s0, requires_grad: true);
        loss.Compute(scores, tensor(labels)).backward();
        var analytic = scores.grad!.data<double>().ToArray();

        const double h = 1e-6;
        for (var k = 0; k < s0.Length; k++)
        {
            var plus = (double[])s0.Clone();
            var minus = (double[])s0.Clone();
            plus[k] += h;
            minus[k] -= h;
            var numeric = (CoSent(5, plus, labels) - CoSent(5, minus, labels)) / (2 * h);
            Assert.Equal(numeric, analytic[k], 7);
        }
        // Raising the best-labelled score lowers the loss; raising a worst-labelled one raises it.
        Assert.True(analytic[0] < 0);
        Assert.True(analytic[1] > 0 && analytic[4] > 0);
    }

    [Fact]
    public void CoSent_on_cosines_of_embeddings_uses_the_cosine()
    {
        using var scope = NewDisposeScope();
        // Example 1 again as embeddings: a = (1, 0) both times; b₀ = (0.2, √0.96) has cosine 0.2, b₁ = 3·(0.3, √0.91)
        // has cosine 0.3 (the length 3 must not matter). Labels [1, 0] → 2.126928.
        var a = tensor(new double[] { 1, 0, 1, 0 }, [2, 2]);
        var b = tensor(new double[] { 0.2, Math.Sqrt(1 - 0.04), 3 * 0.3, 3 * Math.Sqrt(1 - 0.09) }, [2, 2]);
        var value = CoSentLoss.ForCosine().ComputeCosine(a, b, tensor(new double[] { 1, 0 })).item<double>();
        Assert.Equal(2.126928, value, 5);
    }

    // Worked by hand, scale 20: queries q0 = (1, 0), q1 = (0.6, 0.8); items d0 = (0.8, 0.6) (given as (4, 3): only
    // the direction counts), d1 = (0.6, 0.8). Cosines: row 0 [0.8, 0.6] → logits [16, 12]; row 1 [0.96, 1.0] →
    // logits [19.2, 20]. Targets are the diagonal: −log softmax(16, 12)₀ = log(1 + e^{−4}) = 0.0181499;
    // −log softmax(19.2, 20)₁ = log(1 + e^{−0.8}) = 0.3711007. Mean 0.1946253.
    [Fact]
    public void InBatchSoftmax_matches_a_hand_computed_value()
    {
        using var scope = NewDisposeScope();
        var queries = tensor(new double[] { 1, 0, 0.6, 0.8 }, [2, 2]);
        var items = tensor(new double[] { 4, 3, 0.6, 0.8 }, [2, 2]);
        Assert.Equal(0.1946253, new InBatchSoftmaxLoss().Compute(queries, items).item<double>(), 6);
    }

    [Fact]
    public void Bce_baseline_is_torch_binary_cross_entropy_with_logits()
    {
        using var scope = NewDisposeScope();
        // −[y log σ(x) + (1 − y) log(1 − σ(x))]: x = 0, y = 1 → log 2 = 0.693147; x = 2, y = 0 → log(1 + e²) = 2.126928.
        var loss = nn.functional.binary_cross_entropy_with_logits(tensor(new double[] { 0, 2 }), tensor(new double[] { 1, 0 }));
        Assert.Equal((0.693147 + 2.126928) / 2, loss.item<double>(), 5);
    }
}
