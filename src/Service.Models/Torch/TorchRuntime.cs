using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using TorchSharp;

namespace Service.Models.Torch;

/// <summary>
/// Loads TorchSharp's native backend, first making libLibTorchSharp.so loadable on hosts whose
/// libstdc++ predates GCC 13 (Debian 12 stops at GLIBCXX_3.4.30).
/// </summary>
/// <remarks>
/// TorchSharp 0.107's libLibTorchSharp.so needs GLIBCXX_3.4.32 only for
/// <c>std::ios_base_library_init</c>, a GCC 13 marker symbol nothing relocates against, so marking
/// that version weak (<see cref="ElfVersionNeedPatcher"/>) lets it load against an older libstdc++.
/// Call <see cref="EnsureInitialized"/> before any other TorchSharp use: the static constructor of
/// <c>torch</c> loads the native library, and a failure there is cached for the process's lifetime.
/// </remarks>
public static partial class TorchRuntime
{
    public const string RequiredLibStdCxxVersion = "GLIBCXX_3.4.32";
    const string ProbeSymbol = "_ZSt21ios_base_library_initv";
    const string LibraryFileName = "libLibTorchSharp.so";

    static readonly Lock Gate = new();
    static bool initialized;

    /// <summary>What <see cref="EnsureInitialized"/> did to LibTorchSharp, for logs; null before it ran.</summary>
    public static string? Status { get; private set; }

    /// <summary>The libLibTorchSharp.so that was checked or patched; null when no patch was needed.</summary>
    public static string? LibraryPath { get; private set; }

    /// <summary>Patches LibTorchSharp if the host needs it, then loads TorchSharp's CPU backend. Idempotent, thread-safe.</summary>
    /// <exception cref="InvalidOperationException">The library could not be patched or still fails to load.</exception>
    public static void EnsureInitialized()
    {
        lock (Gate)
        {
            if (initialized)
                return;
            if (OperatingSystem.IsLinux() && !HostLibStdCxxProvides(RequiredLibStdCxxVersion))
            {
                LibraryPath = LocateLibrary();
                Status = Patch(LibraryPath);
            }
            else
            {
                Status = "not needed";
            }

            GlibcMalloc.KeepFreedMemory();
            try
            {
                LoadBackend();
            }
            catch (Exception e)
            {
                var detail = LibraryPath is null
                    ? Status
                    : $"host libstdc++.so.6 lacks {RequiredLibStdCxxVersion}; {Status}; loader says: {LoaderError(LibraryPath)}";
                throw new InvalidOperationException($"TorchSharp's native backend failed to load ({detail}).", e);
            }
            initialized = true;
        }
    }

    // Separate and not inlined so that nothing touches torch (whose static constructor does the load) before the patch.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void LoadBackend() => torch.InitializeDeviceType(DeviceType.CPU);

    [LibraryImport("libc.so.6", EntryPoint = "dlvsym", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint DlVSym(nint handle, string symbol, string version);

    // Asks the loader itself, so the answer holds for whichever libstdc++.so.6 LibTorchSharp will bind to.
    static bool HostLibStdCxxProvides(string version)
    {
        if (!NativeLibrary.TryLoad("libstdc++.so.6", out var handle))
            return false;
        try
        {
            return DlVSym(handle, ProbeSymbol, version) != 0;
        }
        finally
        {
            NativeLibrary.Free(handle);
        }
    }

    // Same order as the runtime resolves TorchSharp's NativeLibrary.TryLoad("LibTorchSharp", assembly, null):
    // the deps.json native directories (bin/runtimes/linux-x64/native/ for a portable build), then the app directory.
    static string LocateLibrary()
    {
        var directories = ((AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") as string) ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append(AppContext.BaseDirectory)
            .ToList();
        return directories.Select(d => Path.GetFullPath(Path.Combine(d, LibraryFileName))).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                $"Host libstdc++.so.6 lacks {RequiredLibStdCxxVersion} and no {LibraryFileName} to patch was found in: {string.Join(", ", directories)}.");
    }

    [SupportedOSPlatform("linux")]
    static string Patch(string path)
    {
        if (IsInNuGetCache(path))
            throw new InvalidOperationException(
                $"Host libstdc++.so.6 lacks {RequiredLibStdCxxVersion}, but {path} lies in the NuGet package cache, which must not be modified; " +
                "run from a build output that carries its own copy (the default copy-local layout).");

        // Replace by rename, never rewrite in place: another process may have the old file mapped, and the
        // file may be a hard link or symlink into the NuGet cache, which a rename leaves untouched.
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            var bytes = File.ReadAllBytes(path);
            switch (ElfVersionNeedPatcher.MarkWeak(bytes, RequiredLibStdCxxVersion))
            {
                case VersionNeedPatchResult.AlreadyWeak:
                    return $"already patched {path}";
                case VersionNeedPatchResult.NotReferenced:
                    return $"not needed: {path} does not require {RequiredLibStdCxxVersion}";
            }
            File.WriteAllBytes(temp, bytes);
            File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temp);
            throw new InvalidOperationException(
                $"Host libstdc++.so.6 lacks {RequiredLibStdCxxVersion}, and {path} could not be patched: {e.Message}", e);
        }
        return $"patched {path}";
    }

    static bool IsInNuGetCache(string path)
    {
        if (path.Contains("/.nuget/packages/", StringComparison.Ordinal))
            return true;
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        return !string.IsNullOrEmpty(cache)
            && path.StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(cache)) + "/", StringComparison.Ordinal);
    }

    static string LoaderError(string path)
    {
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(path));
            return "the file itself loads";
        }
        catch (DllNotFoundException e)
        {
            return e.Message;
        }
    }
}
