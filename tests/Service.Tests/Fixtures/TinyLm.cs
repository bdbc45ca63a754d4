using Service.Models.Lm;
using Service.Models.Torch;
using static TorchSharp.torch;

namespace Service.Tests.Fixtures;

/// <summary>
/// A small causal LM with seeded random weights, written as a served model folder (model.pt + lm.json): the real file
/// format and code path, for tests that check plumbing and batching rather than what a trained model knows.
/// </summary>
public static class TinyLm
{
    public static readonly InContextVocabulary Vocabulary = new(Clusters: 8, PerCluster: 2);

    /// <summary>Window 18: (18 − 2) / 2 = 8 demonstrations per chunk.</summary>
    public static readonly CausalLmConfig Config = new(Vocabulary.Size, Window: 18, Layers: 2, Heads: 2, Width: 32);

    /// <summary>Writes the model into <paramref name="root"/>/<paramref name="name"/>; returns that folder.</summary>
    public static string Write(string root, string name = "tiny-lm", long seed = 7)
    {
        TorchRuntime.EnsureInitialized();
        var folder = Path.Combine(root, name);
        Directory.CreateDirectory(folder);
        manual_seed(seed);
        using (var model = new CausalLm(Config))
            model.save(Path.Combine(folder, LmFile.WeightsName));
        new LmFile(LmFile.CurrentFormat, Config, Vocabulary.Clusters, Vocabulary.PerCluster,
            new LmTraining("random-init", 0, seed, "causal", "none", 0, null)).Write(folder);
        return folder;
    }
}
