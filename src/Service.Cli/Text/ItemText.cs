namespace Service.Cli.Text;

/// <summary>How a synset is written as a retrieval item.</summary>
public enum ItemTextStyle
{
    /// <summary>"lemma1, lemma2: definition".</summary>
    Plain,

    /// <summary>
    /// The plain text, then "; domain: motion" (the lexicographer file without its part of speech), "; kind of: travel"
    /// (the first lemma of the first hypernym, where there is one) and a verb's generic sentence frames, each after
    /// "; ". The cross-encoder of issue 14 (attempts 8 and 10 in docs/results/text.md) reads items written this way:
    /// the frames say whether a sense takes an object, which a definition often leaves implicit.
    /// </summary>
    Rich,
}

/// <summary>Writes a synset's item text in one of the <see cref="ItemTextStyle"/>s.</summary>
public static class ItemText
{
    public static string Plain(Synset synset)
    {
        var lemmas = string.Join(", ", synset.Lemmas.Distinct());
        return synset.Definition.Length == 0 ? lemmas : $"{lemmas}: {synset.Definition}";
    }

    /// <summary>A hypernym outside <paramref name="database"/> (a partial fixture) is left out.</summary>
    public static string Rich(Synset synset, WordNetDatabase database)
    {
        var parts = new List<string> { Plain(synset), "domain: " + synset.LexName[(synset.LexName.IndexOf('.') + 1)..].ToLowerInvariant() };
        if (synset.Hypernyms.Count > 0 && database.Find(synset.Hypernyms[0]) is { } hypernym)
            parts.Add("kind of: " + hypernym.Lemmas[0]);
        parts.AddRange(synset.Frames.Select(VerbFrames.Sentence));
        return string.Join("; ", parts);
    }

    public static string Write(Synset synset, WordNetDatabase database, ItemTextStyle style) =>
        style == ItemTextStyle.Rich ? Rich(synset, database) : Plain(synset);
}
