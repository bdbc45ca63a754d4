namespace Service.Training.Schedules;

/// <summary>
/// Linear warm-up, then a half cosine from the peak to 0 at the last step (SGDR without restarts, Loshchilov &amp; Hutter
/// 2017; the schedule of improved DDPM and nanoGPT): η_k = η·(k + 1)/W for k &lt; W, else
/// η·½(1 + cos(π·(k − W)/(T − W))).
/// </summary>
public sealed class WarmupCosineDecay(double peak, long warmupSteps, long totalSteps) : ILearningRateSchedule
{
    public double At(long step)
    {
        if (step < warmupSteps)
            return peak * (step + 1) / warmupSteps;
        var progress = Math.Min(1.0, (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps));
        return peak * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
