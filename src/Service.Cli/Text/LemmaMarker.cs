using System.Text.RegularExpressions;

namespace Service.Cli.Text;

/// <summary>
/// Finds which of a synset's lemmas an example sentence uses and wraps that occurrence in
/// <see cref="Open"/>…<see cref="Close"/>: "he cashed a check at the «bank»". Guillemets rather than square brackets:
/// the uncased BERT tokenizer reads "[mask]" or "[pad]" (real WordNet lemmas) as its special tokens; « and » are
/// ordinary single tokens of the MiniLM vocabulary and never occur in WordNet's own text.
/// Matching is case-insensitive, on whole words (no letter or digit on either side), and allows simple regular
/// inflections of the lemma's last word (or, for a multi-word lemma, of its first word: "«takes off»"):
/// -s, -es, -d, -ed, -ing; a final e dropped before -ing (breathe → breathing); y → -ies/-ied after a consonant;
/// a doubled final consonant before -ed/-ing (stop → stopped, run → running). Words of a multi-word lemma may be
/// separated by spaces or hyphens. Irregular forms (fly → flew, flee → fled) are not recognised: such examples
/// are dropped by the benchmark builder and counted.
/// When several lemmas occur, the longest lemma wins ("bank building" over "bank"), then the earliest position.
/// </summary>
public static class LemmaMarker
{
    public const string Open = "«";
    public const string Close = "»";

    /// <summary>The marked sentence, the synset lemma that was found, and the surface form it had.</summary>
    public sealed record Marked(string Text, string Lemma, string Surface);

    public static Marked? Mark(string sentence, IEnumerable<string> lemmas)
    {
        Marked? best = null;
        var bestLength = -1;
        var bestIndex = int.MaxValue;
        foreach (var lemma in lemmas.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (!MayOccur(sentence, lemma))
                continue;
            var match = Pattern(lemma).Match(sentence);
            if (!match.Success || lemma.Length < bestLength || (lemma.Length == bestLength && match.Index >= bestIndex))
                continue;
            bestLength = lemma.Length;
            bestIndex = match.Index;
            var text = sentence[..match.Index] + Open + match.Value + Close + sentence[(match.Index + match.Length)..];
            best = new Marked(text, lemma, match.Value);
        }
        return best;
    }

    /// <summary>Regular inflected forms of one word, the word itself first.</summary>
    public static IReadOnlyList<string> Inflections(string word)
    {
        var forms = new List<string> { word };
        if (word.Length == 0 || !char.IsLetter(word[^1]))
            return forms;
        forms.AddRange([word + "s", word + "es", word + "d", word + "ed", word + "ing"]);
        var last = char.ToLowerInvariant(word[^1]);
        if (last == 'e' && word.Length > 2)
            forms.Add(word[..^1] + "ing");
        if (last == 'y' && word.Length > 1 && !IsVowel(word[^2]))
            forms.AddRange([word[..^1] + "ies", word[..^1] + "ied"]);
        if (word.Length > 2 && !IsVowel(last) && "wxy".IndexOf(last) < 0 && IsVowel(word[^2]) && !IsVowel(word[^3]))
            forms.AddRange([word + word[^1] + "ed", word + word[^1] + "ing"]);
        return forms;
    }

    /// <summary>Cheap pre-check before building the regex: every form of a word starts with the word minus its last letter.</summary>
    static bool MayOccur(string sentence, string lemma)
    {
        var words = lemma.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return words.Length > 0 && words.All(word => sentence.Contains(word.Length > 1 ? word[..^1] : word, StringComparison.OrdinalIgnoreCase));
    }

    static bool IsVowel(char c) => "aeiou".IndexOf(char.ToLowerInvariant(c)) >= 0;

    static Regex Pattern(string lemma)
    {
        var words = lemma.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var variants = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var form in Inflections(words[^1]))
            variants.Add(Join(words[..^1].Append(form)));
        if (words.Length > 1)
            foreach (var form in Inflections(words[0]))
                variants.Add(Join(words[1..].Prepend(form)));
        var alternatives = string.Join('|', variants.OrderByDescending(v => v.Length));
        return new Regex($@"(?<![\p{{L}}\p{{N}}])(?:{alternatives})(?![\p{{L}}\p{{N}}])",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }

    static string Join(IEnumerable<string> words) => string.Join(@"[\s-]+", words.Select(Regex.Escape));
}
