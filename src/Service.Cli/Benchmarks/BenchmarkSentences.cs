namespace Service.Cli.Benchmarks;

/// <summary>
/// Deterministic English sentences of varied length (about 6 to 40 tokens), so a benchmark run
/// needs no data download and every run embeds exactly the same inputs.
/// </summary>
public static class BenchmarkSentences
{
    static readonly string[] Subjects =
    [
        "A man", "The young woman", "Two children", "An old fisherman", "The committee", "A small brown dog",
        "The research team", "My neighbour", "A street musician", "The city council", "Several tourists", "The chef",
    ];
    static readonly string[] Verbs =
    [
        "is playing", "carefully repaired", "will present", "quietly watched", "has painted", "is reading about",
        "argued over", "photographed", "is slicing", "discovered", "sold", "is cleaning",
    ];
    static readonly string[] Objects =
    [
        "a guitar", "the broken bicycle", "an onion", "the quarterly budget", "a map of the old harbour",
        "the results of the experiment", "a red kite", "the museum's new exhibition", "fresh bread", "the northern lights",
    ];
    static readonly string[] Tails =
    [
        "", " in the park", " before the storm arrived", " while everyone else was asleep",
        " because the deadline had been moved forward by two weeks", " near the station",
        " after a long and surprisingly difficult discussion with the rest of the group about what should happen next",
        " on a quiet Sunday morning", " for the third time this year",
    ];

    public static string[] Generate(int count, int seed = 20221)
    {
        var random = new Random(seed);
        var sentences = new string[count];
        for (var i = 0; i < count; i++)
        {
            sentences[i] = $"{Pick(Subjects)} {Pick(Verbs)} {Pick(Objects)}{Pick(Tails)}.";
        }
        return sentences;

        string Pick(string[] words) => words[random.Next(words.Length)];
    }
}
