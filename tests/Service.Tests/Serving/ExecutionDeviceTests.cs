using Service.Models.Runtime;

namespace Service.Tests.Serving;

public sealed class ExecutionDeviceTests
{
    [Fact]
    public void Zero_intra_op_threads_means_every_core_the_process_may_use()
    {
        using var options = new ExecutionDevice(ExecutionDevice.Cpu).CreateSessionOptions();

        Assert.Equal(Environment.ProcessorCount, options.IntraOpNumThreads);
    }

    [Fact]
    public void A_configured_thread_count_is_kept()
    {
        using var options = new ExecutionDevice(ExecutionDevice.Cpu, IntraOpThreads: 3).CreateSessionOptions();

        Assert.Equal(3, options.IntraOpNumThreads);
    }
}
