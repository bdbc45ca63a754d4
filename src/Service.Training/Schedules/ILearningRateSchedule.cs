namespace Service.Training.Schedules;

/// <summary>The learning rate of optimizer step k (0-based), from a peak rate η.</summary>
public interface ILearningRateSchedule
{
    double At(long step);
}

/// <summary>The schedules by name, for command-line options.</summary>
public static class LearningRateSchedules
{
    public static readonly string[] Names = ["constant", "linear", "cosine"];

    /// <summary>"constant": η; "linear": <see cref="WarmupLinearDecay"/>; "cosine": <see cref="WarmupCosineDecay"/>.</summary>
    public static ILearningRateSchedule Create(string name, double peak, long warmupSteps, long totalSteps) => name switch
    {
        "constant" => new WarmupLinearDecay(peak, warmupSteps, long.MaxValue),
        "linear" => new WarmupLinearDecay(peak, warmupSteps, totalSteps),
        "cosine" => new WarmupCosineDecay(peak, warmupSteps, totalSteps),
        _ => throw new ArgumentException($"Unknown learning-rate schedule '{name}'; use one of {string.Join(", ", Names)}.", nameof(name)),
    };
}
