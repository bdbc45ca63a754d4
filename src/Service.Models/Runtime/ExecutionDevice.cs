using Microsoft.ML.OnnxRuntime;

namespace Service.Models.Runtime;

/// <summary>Where ONNX Runtime executes: the CPU provider by default, CUDA when configured and built in.</summary>
public sealed record ExecutionDevice(string Name, int DeviceId = 0, int IntraOpThreads = 0, bool AllowSpinning = false)
{
    public const string Cpu = "cpu";
    public const string Cuda = "cuda";

    public SessionOptions CreateSessionOptions()
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        // Off by default: idle threads then leave the cores to HTTP, JSON and tokenization; on 2 cores the
        // measured throughput was the same either way (docs/benchmarks.md).
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", AllowSpinning ? "1" : "0");
        // 0 means every core the process may use. ONNX Runtime's own default counts physical cores and chose one thread on
        // a 2-vCPU VM: 281 against 478 cross-encoder calls/s with two (`bench index-build`, docs/benchmarks.md).
        options.IntraOpNumThreads = IntraOpThreads > 0 ? IntraOpThreads : Environment.ProcessorCount;
        if (Name == Cuda)
        {
            try
            {
                options.AppendExecutionProvider_CUDA(DeviceId);
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                options.Dispose();
                throw new InvalidOperationException(
                    "Models:Device=cuda needs the CUDA build of ONNX Runtime (build with -p:OnnxRuntimeFlavor=Gpu) " +
                    $"and a visible GPU with CUDA 13 and cuDNN 9 (Microsoft.ML.OnnxRuntime.Gpu 1.31.0 links libcudart.so.13): {e.Message}", e);
            }
        }
        return options;
    }
}
