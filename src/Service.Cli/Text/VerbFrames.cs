namespace Service.Cli.Text;

/// <summary>
/// WordNet's 35 generic verb sentence frames (frames(5WN) in the WordNet documentation), by frame number: the
/// constructions a verb sense takes, such as whether it takes an object ("Somebody ----s something").
/// </summary>
public static class VerbFrames
{
    static readonly string[] Sentences =
    [
        "Something ----s",
        "Somebody ----s",
        "It is ----ing",
        "Something is ----ing PP",
        "Something ----s something Adjective/Noun",
        "Something ----s Adjective/Noun",
        "Somebody ----s Adjective",
        "Somebody ----s something",
        "Somebody ----s somebody",
        "Something ----s somebody",
        "Something ----s something",
        "Something ----s to somebody",
        "Somebody ----s on something",
        "Somebody ----s somebody something",
        "Somebody ----s something to somebody",
        "Somebody ----s something from somebody",
        "Somebody ----s somebody with something",
        "Somebody ----s somebody of something",
        "Somebody ----s something on somebody",
        "Somebody ----s somebody PP",
        "Somebody ----s something PP",
        "Somebody ----s PP",
        "Somebody's (body part) ----s",
        "Somebody ----s somebody to INFINITIVE",
        "Somebody ----s somebody INFINITIVE",
        "Somebody ----s that CLAUSE",
        "Somebody ----s to somebody",
        "Somebody ----s to INFINITIVE",
        "Somebody ----s whether INFINITIVE",
        "Somebody ----s somebody into V-ing something",
        "Somebody ----s something with something",
        "Somebody ----s INFINITIVE",
        "Somebody ----s VERB-ing",
        "It ----s that CLAUSE",
        "Something ----s INFINITIVE",
    ];

    /// <summary>The frame's sentence; <paramref name="number"/> runs from 1 to 35.</summary>
    public static string Sentence(int number) =>
        number is >= 1 and <= 35
            ? Sentences[number - 1]
            : throw new ArgumentOutOfRangeException(nameof(number), number, "WordNet verb frames are numbered 1 to 35.");
}
