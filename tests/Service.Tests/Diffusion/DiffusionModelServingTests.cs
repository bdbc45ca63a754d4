using Service.Models.Diffusion.Variances;
using Service.Models.Diffusion.Trajectories;
using Service.Models.Diffusion;
using Service.Models.Diffusion.Serving;
using Service.Models.Registry;

namespace Service.Tests.Diffusion;

/// <summary>The served diffusion model's owner thread: ordering, determinism and cancellation mid-sampling.</summary>
public sealed class DiffusionModelServingTests
{
    static DiffusionModel Create()
    {
        var backbone = ReferenceModels.Create(ReferenceModels.Gauss64);
        var random = new Random(1);
        var gamma = GammaEstimator.Estimate(backbone, backbone.Sample(random, 200), random);
        var networks = new Dictionary<CovarianceHead, IEpsilonModel> { [CovarianceHead.None] = backbone };
        return new DiffusionModel(new ModelDescriptor("gauss-64", DiffusionModel.Kind, 64, 0, "cpu"), networks, gamma, null, queueCapacity: 4);
    }

    [Fact]
    public async Task A_client_that_leaves_mid_sampling_stops_it_within_a_step()
    {
        using var model = Create();
        using var client = new CancellationTokenSource();
        var steps = 0;

        var sampling = model.SampleAsync(new SampleSpec(8, 1000, Even.Instance, DiffusionProcess.Ddpm, Analytic.Instance, 0, 1), progress =>
        {
            if (Interlocked.Increment(ref steps) == 3)
                client.Cancel();
        }, previewEvery: 0, client.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sampling);
        await Task.Delay(100);
        Assert.InRange(Volatile.Read(ref steps), 3, 4);
    }

    [Fact]
    public async Task Previews_are_copies_of_x0_on_the_requested_steps()
    {
        using var model = Create();
        var previews = new List<int>();

        var result = await model.SampleAsync(new SampleSpec(2, 10, Even.Instance, DiffusionProcess.Ddim, Ddim.Instance, 0, 9), progress =>
        {
            if (progress.PredictedX0 is not null)
                previews.Add(progress.Step.Count - progress.Step.K + 1);
        }, previewEvery: 4, CancellationToken.None);

        Assert.Equal([4, 8, 10], previews);
        Assert.Equal(2 * 64, result.Samples.Length);
    }
}
