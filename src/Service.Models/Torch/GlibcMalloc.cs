using System.Runtime.InteropServices;

namespace Service.Models.Torch;

/// <summary>
/// Keeps freed memory in glibc's heap instead of returning it to the kernel, for libtorch's large per-call buffers.
/// </summary>
/// <remarks>
/// <para>With glibc's defaults every UNet forward pass maps and unmaps its activation buffers (tens of MB at batch
/// 250), and the page faults of touching them again dominate. `bench sampling` (docs/benchmarks.md) measured at K = 10:
/// 10.7 images/s with the defaults, 17.6 with these mallopt(3) settings, 57.2 with the environment variables
/// MALLOC_MMAP_THRESHOLD_=1000000000, MALLOC_TRIM_THRESHOLD_=1000000000 and MALLOC_TOP_PAD_=500000000. mallopt refuses
/// an mmap threshold above 32 MiB, the environment does not, so the image, launchSettings.json and the scripts set the
/// environment; this is the fallback for a process started without it.</para>
/// <para>The cost is memory: the heap keeps its high-water mark (up to the trim threshold) after a large request.</para>
/// </remarks>
public static partial class GlibcMalloc
{
    // mallopt(3) parameters (malloc.h).
    const int TrimThreshold = -1;
    const int TopPad = -2;
    const int MmapThreshold = -3;

    /// <summary>glibc refuses mmap thresholds above half its largest heap (64 MiB on 64-bit).</summary>
    const int MaxMmapThreshold = 32 * 1024 * 1024;

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    /// <summary>What <see cref="KeepFreedMemory"/> did, for logs.</summary>
    public static string Status { get; private set; } = "not applied";

    /// <summary>Applies the settings once per process on glibc Linux; a no-op elsewhere or when the environment already sets them.</summary>
    public static void KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null)
        {
            Status = OperatingSystem.IsLinux() ? "left to the MALLOC_* environment" : "not glibc";
            return;
        }
        try
        {
            var applied = MallOpt(MmapThreshold, MaxMmapThreshold) == 1
                & MallOpt(TrimThreshold, 1_000_000_000) == 1
                & MallOpt(TopPad, 500_000_000) == 1;
            Status = applied ? "mmap threshold 32 MiB, trim threshold 1 GB, top pad 500 MB" : "mallopt refused a setting";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Status = "not glibc"; // musl (Alpine) has no mallopt
        }
    }
}
