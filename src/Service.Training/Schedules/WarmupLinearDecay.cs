namespace Service.Training.Schedules;

/// <summary>
/// Linear warm-up, then linear decay to 0 at the last step (BERT's schedule, Devlin et al. 2019):
/// η_k = η·(k + 1)/W for k &lt; W, else η·(T − k)/(T − W).
/// </summary>
/// <remarks>W = 0 starts at the peak; T = <see cref="long.MaxValue"/> never decays (a constant rate after warm-up).</remarks>
public sealed class WarmupLinearDecay(double peak, long warmupSteps, long totalSteps) : ILearningRateSchedule
{
    public double At(long step) => step < warmupSteps
        ? peak * (step + 1) / warmupSteps
        : totalSteps == long.MaxValue ? peak : peak * Math.Max(0, totalSteps - step) / Math.Max(1, totalSteps - warmupSteps);
}
