using System.Runtime.InteropServices;

namespace Service.Models.Torch;

/// <summary>
/// Pins ATen's vectorised CPU kernels (elementwise ops, activations, reductions) to AVX2 unless the environment
/// already sets <c>ATEN_CPU_CAPABILITY</c>.
/// </summary>
/// <remarks>
/// <para>On this project's host (AMD EPYC with AVX-512, a virtual machine) libtorch's AVX-512 Sleef <c>expf</c>, behind
/// SiLU and sigmoid, took 34–35 % of a UNet sampling run (it is 4× slower where exp(−x) is denormal); with the AVX2
/// kernels `bench sampling` ran 1.77× faster at K = 100 and the same at K = 10, and cross-encoder training no slower
/// (docs/benchmarks.md, issue 19). oneDNN's convolutions choose their instruction set separately and keep AVX-512.
/// Set <c>ATEN_CPU_CAPABILITY=avx512</c> to undo this on a host where the AVX-512 kernels are the faster ones.</para>
/// <para>ATen reads the variable once, at its first kernel dispatch, and through the C library's environment, which
/// .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not write on Linux: hence setenv(3).</para>
/// </remarks>
public static partial class AtenKernels
{
    public const string Variable = "ATEN_CPU_CAPABILITY";
    public const string Default = "avx2";

    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    /// <summary>What <see cref="PinDefault"/> did, for logs.</summary>
    public static string Status { get; private set; } = "not applied";

    /// <summary>Sets ATEN_CPU_CAPABILITY=avx2 in the C environment when it is unset, on x64 Linux; otherwise leaves it.</summary>
    public static void PinDefault()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { } value)
        {
            Status = $"{Variable}={value} from the environment";
            return;
        }
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            Status = "left to libtorch (not x64 Linux)";
            return;
        }
        try
        {
            Status = SetEnv(Variable, Default, overwrite: 0) == 0 ? $"{Variable}={Default}" : "setenv failed; left to libtorch";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Status = "no glibc setenv; left to libtorch";
        }
    }
}
