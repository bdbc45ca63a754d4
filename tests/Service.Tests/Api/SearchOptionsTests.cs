using Service.Index;
using Service.Api.Hosting;

namespace Service.Tests.Api;

public sealed class SearchOptionsTests
{
    [Theory]
    [InlineData("cur", 100, 30)]
    [InlineData("adaptive", 100, 70)]
    [InlineData("adaptive-de", 100, 70)]
    [InlineData("cur", 2, 1)]      // 0.6 rounds to 1
    [InlineData("adaptive", 2, 1)]
    [InlineData("cur", 1000, 300)]
    public void The_default_anchor_items_are_the_method_s_share_of_the_budget_and_at_least_one(string method, int budget, int expected) =>
        Assert.Equal(expected, new AnnCurPolicy().DefaultAnchorItems(method, budget));

    [Fact]
    public void Configured_shares_replace_the_defaults() =>
        Assert.Equal(20, new SearchOptions { CurAnchorShare = 0.2 }.Policy.DefaultAnchorItems("cur", 100));
}
