using System.Runtime.InteropServices;
using Service.Models.Torch;
using TorchSharp;

namespace Service.Tests.Torch;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void EnsureInitialized_LoadsTorchSharp_AndMatmulIsExact()
    {
        TorchRuntime.EnsureInitialized();
        TorchRuntime.EnsureInitialized();

        using (torch.NewDisposeScope())
        {
            var a = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
            var b = torch.tensor(new float[] { 7, 8, 9, 10, 11, 12 }, [3, 2]);
            var product = torch.matmul(a, b);

            Assert.Equal([2L, 2L], product.shape);
            // [1 2 3; 4 5 6] @ [7 8; 9 10; 11 12], by hand: row·column sums.
            Assert.Equal([58f, 64f, 139f, 154f], product.data<float>().ToArray());
        }

        Assert.NotNull(TorchRuntime.Status);
        if (TorchRuntime.LibraryPath is { } path)
        {
            // The copy we checked or patched must be the one the loader actually mapped.
            Assert.Matches("^(already )?patched ", TorchRuntime.Status);
            Assert.Contains(File.ReadLines("/proc/self/maps"), line => line.EndsWith(" " + path, StringComparison.Ordinal));
        }
    }
}

public sealed class AtenKernelsTests
{
    [DllImport("libc.so.6", EntryPoint = "getenv")]
    static extern nint GetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [Fact]
    public void SetDefault_WritesTheCEnvironmentThatLibtorchReads_AndNeverOverwrites()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
            return;
        // A variable of its own: pinning ATEN_CPU_CAPABILITY here would change the kernels of every later test in the process.
        var variable = $"SERVICE_TEST_PIN_{Guid.NewGuid():N}";

        var first = AtenKernels.SetDefault(variable, "avx2");
        var second = AtenKernels.SetDefault(variable, "avx512");

        // .NET's own environment block would not be visible to libtorch; getenv(3) reads what it reads.
        Assert.Equal("avx2", Marshal.PtrToStringUTF8(GetEnv(variable)));
        Assert.Contains("avx2", first);
        Assert.Contains("unless set before", second);
        // A variable the process was started with is kept as it is.
        Assert.Contains("from the environment", AtenKernels.SetDefault("PATH", "avx512"));
        Assert.NotEqual("avx512", Marshal.PtrToStringUTF8(GetEnv("PATH")));
    }
}

public sealed class ElfVersionNeedPatcherTests : IDisposable
{
    const string Version = TorchRuntime.RequiredLibStdCxxVersion;
    readonly string directory = Directory.CreateTempSubdirectory("elf-patch-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void MarkWeak_SetsTheFlagOnExactlyThatEntry_AndIsIdempotent()
    {
        var original = StrongCopyOfLibTorchSharp();
        var before = ElfVersionNeedPatcher.ReadVersionNeeds(original);
        var target = Assert.Single(before, n => n.Version == Version);
        Assert.Equal("libstdc++.so.6", target.File);
        Assert.Contains(before, n => n is { File: "libc.so.6", Version: "GLIBC_2.34" });

        var patched = original.ToArray();
        Assert.Equal(VersionNeedPatchResult.Patched, ElfVersionNeedPatcher.MarkWeak(patched, Version));

        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        Assert.Equal([target.FlagsOffset], changed.Select(i => (long)i));
        Assert.Equal(original[changed[0]] | ElfVersionNeedPatcher.VerFlagWeak, patched[changed[0]]);

        var after = ElfVersionNeedPatcher.ReadVersionNeeds(patched);
        Assert.Equal(before.Select(n => n == target ? n with { Flags = (ushort)(n.Flags | ElfVersionNeedPatcher.VerFlagWeak) } : n), after);

        var again = patched.ToArray();
        Assert.Equal(VersionNeedPatchResult.AlreadyWeak, ElfVersionNeedPatcher.MarkWeak(again, Version));
        Assert.Equal(patched, again);
    }

    [Fact]
    public void MarkWeak_ReportsAnAbsentVersion_WithoutChanges()
    {
        var original = StrongCopyOfLibTorchSharp();
        var copy = original.ToArray();

        Assert.Equal(VersionNeedPatchResult.NotReferenced, ElfVersionNeedPatcher.MarkWeak(copy, "GLIBCXX_9.9.9"));
        Assert.Equal(original, copy);
    }

    [Fact]
    public void NonElfInput_IsRejected()
    {
        var text = new byte[128];
        "hello, not an ELF file"u8.CopyTo(text);

        Assert.Contains("Not an ELF file", Reject(text));
        Assert.Contains("Not an ELF file", Reject([0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1]));
    }

    [Fact]
    public void Elf32AndBigEndianInput_IsRejected()
    {
        var elf32 = StrongCopyOfLibTorchSharp();
        elf32[4] = 1;
        var bigEndian = StrongCopyOfLibTorchSharp();
        bigEndian[5] = 2;

        Assert.Contains("Not an ELF64 file", Reject(elf32));
        Assert.Contains("Not a little-endian ELF file", Reject(bigEndian));
    }

    [Fact]
    public void TruncatedInput_IsRejected()
    {
        var library = StrongCopyOfLibTorchSharp();

        Assert.Contains("truncated", Reject(library[..(library.Length / 2)]));
        Assert.Contains("truncated", Reject(library[..^1]));
        Assert.Contains("Not an ELF file", Reject(library[..63]));
    }

    static string Reject(byte[] input)
    {
        var error = Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.MarkWeak(input, Version));
        Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(input));
        return error.Message;
    }

    // The bin copy may already have been patched by TorchRuntime in this or an earlier run,
    // so take a private copy and clear the weak flag to get the library as shipped.
    byte[] StrongCopyOfLibTorchSharp()
    {
        var copy = Path.Combine(directory, "libLibTorchSharp.so");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"), copy, overwrite: true);
        var bytes = File.ReadAllBytes(copy);
        var target = Assert.Single(ElfVersionNeedPatcher.ReadVersionNeeds(bytes), n => n.Version == Version);
        bytes[target.FlagsOffset] &= unchecked((byte)~ElfVersionNeedPatcher.VerFlagWeak);
        return bytes;
    }
}
