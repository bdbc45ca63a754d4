using Service.Training.Schedules;

namespace Service.Tests.Torch;

public sealed class LearningRateScheduleTests
{
    [Fact]
    public void WarmupCosineDecay_RisesLinearly_ThenFollowsTheHalfCosineToZero()
    {
        var schedule = new WarmupCosineDecay(peak: 4e-4, warmupSteps: 100, totalSteps: 1100);

        // Warm-up: η·(k + 1)/W.
        Assert.Equal(4e-6, schedule.At(0), 12);
        Assert.Equal(2e-4, schedule.At(49), 12);
        Assert.Equal(4e-4, schedule.At(99), 12);
        // After it: η·½(1 + cos(π·(k − W)/(T − W))), by hand at 0, ¼, ½ and the whole of the 1,000 decay steps.
        Assert.Equal(4e-4, schedule.At(100), 12);
        Assert.Equal(4e-4 * 0.5 * (1 + Math.Sqrt(0.5)), schedule.At(350), 12);
        Assert.Equal(2e-4, schedule.At(600), 12);
        Assert.Equal(0, schedule.At(1100), 12);
        Assert.Equal(0, schedule.At(5000), 12);
    }

    [Fact]
    public void WarmupLinearDecay_MatchesBertsSchedule_AndConstantNeverDecays()
    {
        var linear = new WarmupLinearDecay(peak: 1e-3, warmupSteps: 10, totalSteps: 110);
        Assert.Equal(1e-4, linear.At(0), 12);
        Assert.Equal(1e-3, linear.At(10), 12);
        Assert.Equal(5e-4, linear.At(60), 12);
        Assert.Equal(0, linear.At(110), 12);

        var constant = LearningRateSchedules.Create("constant", 1e-3, warmupSteps: 0, totalSteps: 110);
        Assert.Equal(1e-3, constant.At(0), 12);
        Assert.Equal(1e-3, constant.At(1_000_000), 12);
        Assert.Throws<ArgumentException>(() => LearningRateSchedules.Create("step", 1e-3, 0, 10));
    }
}
