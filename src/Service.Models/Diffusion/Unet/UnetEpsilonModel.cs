using Service.Models.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Models.Diffusion.Unet;

/// <summary>
/// The trained UNet as an <see cref="IEpsilonModel"/> for the samplers: ε̂(x_n, n) and, when a head file was loaded,
/// the SN head h ≈ E[ε² | x_n] or the NPR head g ≈ E[(ε − ε̂)² | x_n], from one forward pass.
/// </summary>
/// <remarks>
/// Not thread-safe: the owner (one model worker thread) makes the calls; a concurrent second call throws.
/// Every call runs inside <c>torch.NewDisposeScope()</c> and <c>torch.inference_mode()</c> and copies the results
/// into the caller's spans before the scope ends, so no tensor outlives the call. Dispose frees the weights.
/// </remarks>
public sealed class UnetEpsilonModel : IEpsilonModel, IDisposable
{
    readonly DiffusionUnet network;
    int busy;
    bool disposed;

    /// <summary>Wraps <paramref name="network"/> (taking ownership) for inference.</summary>
    public UnetEpsilonModel(DiffusionUnet network, NoiseSchedule schedule, CovarianceHead head)
    {
        this.network = network;
        network.eval();
        foreach (var p in network.parameters())
            p.requires_grad = false;
        Schedule = schedule;
        Head = head;
        Dimension = network.Config.Dimension;
    }

    /// <summary>Loads backbone weights (with their sidecar JSON) and optionally a head's weights (with its sidecar).</summary>
    public static UnetEpsilonModel Load(string backbonePath, string? headPath = null)
    {
        TorchRuntime.EnsureInitialized();
        var sidecar = UnetSidecar.Read(backbonePath);
        if (sidecar.Kind != "backbone")
            throw new InvalidDataException($"{backbonePath} holds a '{sidecar.Kind}' head, not a backbone.");
        var head = CovarianceHead.None;
        UnetSidecar? headSidecar = null;
        if (headPath is not null)
        {
            headSidecar = UnetSidecar.Read(headPath);
            head = ParseHeadKind(headSidecar.Kind);
            if (!SameConfig(headSidecar.Config, sidecar.Config))
                throw new InvalidDataException($"Head {headPath} was trained for a different UNet shape than {backbonePath}.");
        }

        var network = new DiffusionUnet(sidecar.Config);
        try
        {
            network.Backbone.load(backbonePath);
            if (headPath is not null)
                network.Head.load(headPath);
            return new UnetEpsilonModel(network, NoiseSchedule.Create(sidecar.Schedule, sidecar.N), head) { Info = sidecar, HeadInfo = headSidecar };
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    public static CovarianceHead ParseHeadKind(string kind) => kind switch
    {
        "sn" => CovarianceHead.Sn,
        "npr" => CovarianceHead.Npr,
        _ => throw new InvalidDataException($"Unknown head kind '{kind}'; expected sn or npr."),
    };

    static bool SameConfig(UnetConfig a, UnetConfig b) =>
        a.Channels == b.Channels && a.Groups == b.Groups && a.ImageSize == b.ImageSize && a.ImageChannels == b.ImageChannels
        && a.Multipliers.SequenceEqual(b.Multipliers);

    public UnetSidecar? Info { get; private init; }
    public UnetSidecar? HeadInfo { get; private init; }

    public int Dimension { get; }
    public NoiseSchedule Schedule { get; }
    public CovarianceHead Head { get; }
    public bool DataInUnitBox => true;

    public void Predict(ReadOnlySpan<float> x, int n, Span<float> epsilon, Span<float> head)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var d = Dimension;
        if (x.Length == 0 || x.Length % d != 0)
            throw new ArgumentException($"x must hold B × {d} values; got {x.Length}.", nameof(x));
        var batch = x.Length / d;
        if (epsilon.Length != x.Length)
            throw new ArgumentException($"epsilon must hold {x.Length} values; got {epsilon.Length}.", nameof(epsilon));
        if (Head != CovarianceHead.None && head.Length != x.Length)
            throw new ArgumentException($"head must hold {x.Length} values; got {head.Length}.", nameof(head));
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(n, Schedule.Steps);
        if (Interlocked.Exchange(ref busy, 1) != 0)
            throw new InvalidOperationException("UnetEpsilonModel is not thread-safe; Predict was called concurrently.");
        try
        {
            var config = network.Config;
            using var scope = NewDisposeScope();
            using var mode = inference_mode();
            var input = empty([batch, config.ImageChannels, config.ImageSize, config.ImageSize], ScalarType.Float32);
            input.data<float>().CopyFrom(x);
            var steps = full([batch], n, ScalarType.Int64);
            if (Head == CovarianceHead.None)
            {
                var (eps, _) = network.Backbone.forward(input, steps);
                eps.contiguous().data<float>().CopyTo(epsilon);
            }
            else
            {
                var (eps, output) = network.forward(input, steps);
                eps.contiguous().data<float>().CopyTo(epsilon);
                output.contiguous().data<float>().CopyTo(head);
            }
        }
        finally
        {
            Volatile.Write(ref busy, 0);
        }
    }

    public void Dispose()
    {
        if (disposed)
            return;
        disposed = true;
        network.Dispose();
    }
}
