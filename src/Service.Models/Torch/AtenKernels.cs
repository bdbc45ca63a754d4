using System.Runtime.InteropServices;

namespace Service.Models.Torch;

/// <summary>
/// Pins ATen's vectorised CPU kernels (elementwise ops, activations, reductions) to AVX2 for a sampling-only process,
/// unless the environment already sets <c>ATEN_CPU_CAPABILITY</c>.
/// </summary>
/// <remarks>
/// <para>On this project's host (AMD EPYC with AVX-512, a virtual machine) libtorch's AVX-512 Sleef <c>expf</c>, behind
/// SiLU and sigmoid, took 34–35 % of a UNet sampling run (it is 4× slower where exp(−x) is denormal); with the AVX2
/// kernels `bench sampling` ran 1.77× faster at K = 100 and the same at K = 10 (docs/benchmarks.md, issue 19). oneDNN's
/// convolutions choose their instruction set separately and keep AVX-512.</para>
/// <para>Only the sampling commands call it (diffusion evaluate, preview, gamma; bench sampling): a test-suite run with
/// the pin process-wide once saw every backward pass of the UNet training test return a non-finite gradient, a libtorch
/// CPU fault this project has seen before without it, so training and serving keep libtorch's own choice until that is
/// understood. Set the variable yourself to choose for any process.</para>
/// <para>ATen reads the variable once, at its first kernel dispatch, and through the C library's environment, which
/// .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not write on Linux: hence setenv(3).</para>
/// </remarks>
public static partial class AtenKernels
{
    public const string Variable = "ATEN_CPU_CAPABILITY";
    public const string Default = "avx2";

    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    /// <summary>What <see cref="PinForSampling"/> did, for logs.</summary>
    public static string Status { get; private set; } = "not applied";

    /// <summary>Sets ATEN_CPU_CAPABILITY=avx2 in the C environment when it is unset, on x64 Linux; call before the first torch op.</summary>
    public static void PinForSampling() => Status = SetDefault(Variable, Default);

    /// <summary>setenv(3) without overwriting: an existing value (from the environment or an earlier call) wins.</summary>
    /// <returns>What happened, for logs.</returns>
    public static string SetDefault(string variable, string value)
    {
        if (Environment.GetEnvironmentVariable(variable) is { } existing)
            return $"{variable}={existing} from the environment";
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return "left to libtorch (not x64 Linux)";
        try
        {
            return SetEnv(variable, value, overwrite: 0) == 0 ? $"{variable}={value} unless set before" : "setenv failed; left to libtorch";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return "no glibc setenv; left to libtorch";
        }
    }
}
