namespace Service.Cli.Text;

/// <summary>
/// The fixed zero-shot split of WordNet by lexicographer file (the "world" of ZeShEL): a synset, its example
/// queries and its domain belong to exactly one split. Test and dev each take a few varied domains from every
/// part of speech; train keeps the rest. Chosen once (by hand, from the domain sizes) and never tuned on results;
/// documented in docs/data/wordnet.md.
/// adj.all holds 37% of all example sentences, so it stays in train — a test domain that large would leave
/// too little to train on; adj.pert (test) and adj.ppl (dev) represent adjectives instead.
/// </summary>
public static class WordNetSplits
{
    public const string Train = "train";
    public const string Dev = "dev";
    public const string Test = "test";

    public static readonly IReadOnlyList<string> Names = [Train, Dev, Test];

    public static readonly IReadOnlyList<string> TestDomains =
    [
        "noun.animal", "noun.food", "noun.cognition", "noun.state",
        "verb.motion", "verb.perception", "verb.emotion",
        "adj.pert",
    ];

    public static readonly IReadOnlyList<string> DevDomains =
    [
        "noun.plant", "noun.body", "noun.time", "noun.possession",
        "verb.contact", "verb.weather", "verb.competition",
        "adj.ppl",
    ];

    public static readonly IReadOnlyList<string> TrainDomains =
        WordNetDatabase.LexNames.Except(TestDomains).Except(DevDomains).ToArray();

    public static string Of(string lexName) =>
        TestDomains.Contains(lexName) ? Test
        : DevDomains.Contains(lexName) ? Dev
        : TrainDomains.Contains(lexName) ? Train
        : throw new ArgumentException($"{lexName} is not a WordNet lexicographer file.", nameof(lexName));

    public static IReadOnlyList<string> Domains(string split) => split switch
    {
        Train => TrainDomains,
        Dev => DevDomains,
        Test => TestDomains,
        _ => throw new ArgumentException($"Unknown split {split}.", nameof(split)),
    };
}
