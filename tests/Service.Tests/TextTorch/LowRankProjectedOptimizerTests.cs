using Service.Models.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Service.Training;

namespace Service.Tests.TextTorch;

public sealed class LowRankProjectedOptimizerTests
{
    public LowRankProjectedOptimizerTests() => TorchRuntime.EnsureInitialized();

    [Fact]
    public void The_projected_gradient_has_the_gradients_shape_and_rank_at_most_2r()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(1);
        var gradient = randn([12, 10], ScalarType.Float64, generator: generator);
        foreach (var rank in new[] { 1, 2, 3 })
        {
            var (u, v) = LowRankProjectedOptimizer.SampleProjections(12, 10, rank, generator, ScalarType.Float64);
            Assert.Equal([12L, rank], u.shape);
            Assert.Equal([(long)rank, 10], v.shape);
            var projected = LowRankProjectedOptimizer.Project(gradient, u, v);
            Assert.Equal([12L, 10], projected.shape);
            Assert.Equal(2 * rank, linalg.matrix_rank(projected).item<long>()); // ≤ 2r, and = 2r for a generic G
        }
    }

    [Fact]
    public void The_projections_and_the_projected_gradient_are_unbiased_up_to_the_documented_factor()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(2);
        const int m = 6, n = 5, rank = 2, samples = 4000;
        var gradient = randn([m, n], ScalarType.Float64, generator: generator);
        var sumProjected = zeros([m, n], ScalarType.Float64);
        var sumUUt = zeros([m, m], ScalarType.Float64);
        var sumVtV = zeros([n, n], ScalarType.Float64);
        for (var k = 0; k < samples; k++)
        {
            using var step = NewDisposeScope();
            var (u, v) = LowRankProjectedOptimizer.SampleProjections(m, n, rank, generator, ScalarType.Float64);
            sumProjected.add_(LowRankProjectedOptimizer.Project(gradient, u, v));
            sumUUt.add_(u.matmul(u.t()));
            sumVtV.add_(v.t().matmul(v));
        }

        double RelativeError(Tensor estimate, Tensor truth) => ((estimate - truth).norm() / truth.norm()).item<double>();
        // E[U Uᵀ] = I_m and E[VᵀV] = I_n (entries N(0, 1/r)); hence E[G VᵀV + U UᵀG] = c·G with c = 2.
        Assert.True(RelativeError(sumUUt / samples, eye(m, dtype: ScalarType.Float64)) < 0.05);
        Assert.True(RelativeError(sumVtV / samples, eye(n, dtype: ScalarType.Float64)) < 0.05);
        var error = RelativeError(sumProjected / samples, gradient * LowRankProjectedOptimizer.ExpectationFactor);
        Assert.True(error < 0.05, $"‖mean P(G) − 2G‖ / ‖2G‖ = {error}");
    }

    [Fact]
    public void A_stateless_step_applies_the_projected_gradient_divided_by_c()
    {
        using var scope = NewDisposeScope();
        var start = randn(8, 7);
        var weight = new Parameter(start.clone());
        var bias = new Parameter(zeros(7));
        var options = new LowRankProjectedOptions { Rank = 2, LearningRate = 0.1, State = ProjectedState.Momentum, Beta1 = 0, Seed = 5 };
        using var optimizer = new LowRankProjectedOptimizer([weight, bias], options);
        Assert.Equal(1, optimizer.ProjectedParameterCount); // the bias is updated densely

        var gradient = randn(8, 7);
        weight.grad = gradient.clone();
        bias.grad = ones(7);
        optimizer.Step();

        using var replay = new Generator(5); // the optimizer's first draw
        var (u, v) = LowRankProjectedOptimizer.SampleProjections(8, 7, 2, replay);
        var expected = start - LowRankProjectedOptimizer.Project(gradient, u, v) * (0.1 / LowRankProjectedOptimizer.ExpectationFactor);
        Assert.True((weight - expected).abs().max().item<float>() < 1e-6f);
        Assert.True((bias + 0.1 * ones(7)).abs().max().item<float>() < 1e-7f);
    }

    // Momentum with κ = 1 is run without momentum (β = 0): re-projecting the momentum on every resample inflates it by
    // (1 + (24 + 1)/2) in expectation (see the optimizer's remarks), so momentum needs β^{2κ}·13.5 < 1 (here 0.5^20·13.5).
    [Theory]
    [InlineData(ProjectedState.Adam, 1, 0.9, 0.05)]
    [InlineData(ProjectedState.Adam, 10, 0.9, 0.05)]
    [InlineData(ProjectedState.Momentum, 1, 0.0, 0.1)]
    [InlineData(ProjectedState.Momentum, 10, 0.5, 0.1)]
    public void Training_a_full_matrix_with_rank_2_updates_reaches_a_full_rank_target(ProjectedState state, int resampleEvery, double beta1, double learningRate)
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        var target = randn(24, 16); // full rank: no single rank-4 update can reach it
        var weight = new Parameter(zeros(24, 16));
        var options = new LowRankProjectedOptions
        {
            Rank = 2, ResampleEvery = resampleEvery, State = state, Beta1 = beta1, LearningRate = learningRate, Seed = 7,
        };
        using var optimizer = new LowRankProjectedOptimizer([weight], options);

        float Loss()
        {
            using (no_grad())
                return (weight - target).square().sum().item<float>();
        }

        var initial = Loss();
        for (var i = 0; i < 300; i++)
        {
            using var step = NewDisposeScope();
            optimizer.ZeroGrad();
            (weight - target).square().sum().mul(0.5).backward(); // G = W − W*
            optimizer.Step();
        }
        var final = Loss();
        Assert.Equal(300, optimizer.Steps);
        // State lives in the compressed space: [24×2] and [2×16] per moment, never [24×16].
        Assert.Equal((state == ProjectedState.Adam ? 2 : beta1 > 0 ? 1 : 0) * (24 * 2 + 2 * 16), optimizer.StateElementCount);
        Assert.True(final < 0.1 * initial, $"{state}, κ = {resampleEvery}: loss {initial} → {final}");
        Assert.True(linalg.matrix_rank(weight.detach()).item<long>() > 2 * 2); // accumulated updates exceed rank 2r
    }
}
