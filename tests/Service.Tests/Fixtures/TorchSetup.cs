using System.Runtime.CompilerServices;
using Service.Models.Torch;

namespace Service.Tests.Fixtures;

/// <summary>
/// Runs <see cref="TorchRuntime.EnsureInitialized"/> before any test: nothing may touch torch before it (its native
/// library may need the patch), and some tests use tensors directly (LmHeldOutTests). Once, on the first run after a
/// rebuild, every TorchSharp test of `--filter Lm` failed with "Failed to load native component"; it did not recur in
/// four runs from the unpatched library, with or without this initializer, so the cause is not proven.
/// </summary>
static class TorchSetup
{
    [ModuleInitializer]
    internal static void Initialize() => TorchRuntime.EnsureInitialized();
}
