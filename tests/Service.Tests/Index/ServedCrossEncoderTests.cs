using Service.Cli.Index;
using Service.Tests.Fixtures;

namespace Service.Tests.Index;

public class ServedCrossEncoderTests
{
    /// <summary>index build/evaluate and the index benchmarks default to the model the service serves, not a copy of its name.</summary>
    [Fact]
    public void The_cli_default_is_the_services_default_cross_encoder() =>
        Assert.Equal(ServedDefaults.CrossEncoder, ServedCrossEncoder.Name);
}
