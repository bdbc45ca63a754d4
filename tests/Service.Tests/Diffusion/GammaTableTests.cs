using Service.Models.Diffusion.Serving;

namespace Service.Tests.Diffusion;

public sealed class GammaTableTests
{
    // Γ_1..Γ_4 = 0.9, 1.05, 1.3, 1.02 with standard errors 0.1, 0.1, 0.1, 0.005: above 1 at n = 2, 3, 4;
    // by more than one error at 3 (1.3 > 1.1) and 4 (1.02 > 1.005); by more than two at 3 (1.3 > 1.2) and 4 (1.02 > 1.01).
    static readonly GammaTable Table = new(1000, 3, [0, 0.9, 1.05, 1.3, 1.02], [0, 0.1, 0.1, 0.1, 0.005]);

    [Fact]
    public void Timesteps_above_one_are_counted_against_their_standard_errors()
    {
        Assert.Equal([2, 3, 4], Table.AboveOne(0));
        Assert.Equal([3, 4], Table.AboveOne(1));
        Assert.Equal([3, 4], Table.AboveOne(2));
        Assert.Equal("Γ_n > 1 at 3 timesteps, by more than one standard error at 2, by more than two at 2", Table.AboveOneSummary());
        Assert.Empty(new GammaTable(100, 3, [0, 1.5]).AboveOne(0)); // a table without standard errors says nothing
    }
}
