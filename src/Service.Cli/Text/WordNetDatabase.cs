namespace Service.Cli.Text;

/// <summary>
/// One WordNet synset as read from a <c>data.*</c> line. <see cref="Id"/> is <c>offset-pos</c> with the file's
/// part of speech (n, v, a, r; adjective satellites keep <see cref="SsType"/> 's' but get 'a', like their file),
/// so it is unique across the four files. <see cref="Hypernyms"/> are the ids its hypernym and instance-hypernym
/// pointers (@, @i) name; <see cref="Frames"/> the numbers of a verb's generic sentence frames (those that apply to
/// all its lemmas, w_num 00), ascending, see <see cref="VerbFrames"/>.
/// </summary>
public sealed record Synset(
    int Offset, int LexFileNumber, string LexName, char SsType,
    IReadOnlyList<string> Lemmas, string Definition, IReadOnlyList<string> Examples, IReadOnlyList<string> Hypernyms,
    IReadOnlyList<int> Frames)
{
    public char Pos => SsType == 's' ? 'a' : SsType;

    public string Id => $"{Offset:D8}-{Pos}";
}

/// <summary>
/// The WordNet 3.1 database (<c>data.noun</c>, <c>data.verb</c>, <c>data.adj</c>, <c>data.adv</c>) in the
/// wndb(5WN) line format:
/// <code>synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt [ptr...] [frames...] | gloss</code>
/// w_cnt is two hex digits; of the pointers (<c>symbol offset pos source/target</c>) only hypernyms are kept; of a
/// verb's frames (<c>f_cnt + f_num w_num...</c>) only the generic ones (w_num 00). Lines starting with two spaces are the
/// license header. Lemmas get underscores → spaces and lose adjective position markers ("(a)", "(p)", "(ip)");
/// the gloss is split at top-level semicolons into the definition and the quoted example sentences.
/// </summary>
public sealed class WordNetDatabase
{
    /// <summary>The 45 lexicographer files of WordNet 3.x, indexed by lex_filenum (lexnames(5WN)).</summary>
    public static readonly IReadOnlyList<string> LexNames =
    [
        "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
        "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
        "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
        "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
        "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
        "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
        "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
    ];

    static readonly string[] DataFiles = ["data.noun", "data.verb", "data.adj", "data.adv"];

    readonly Dictionary<string, List<Synset>> byLemma = new(StringComparer.Ordinal);
    readonly Dictionary<string, Synset> byId;

    WordNetDatabase(IReadOnlyList<Synset> synsets)
    {
        Synsets = synsets;
        byId = synsets.ToDictionary(synset => synset.Id, StringComparer.Ordinal);
        foreach (var synset in synsets)
            foreach (var lemma in synset.Lemmas.Select(LemmaKey).Distinct())
            {
                if (!byLemma.TryGetValue(lemma, out var senses))
                    byLemma[lemma] = senses = [];
                senses.Add(synset);
            }
    }

    /// <summary>Every synset, in file order (noun, verb, adj, adv), each file in offset order.</summary>
    public IReadOnlyList<Synset> Synsets { get; }

    /// <summary>The synset with this <see cref="Synset.Id"/>, or null when the loaded files do not hold it.</summary>
    public Synset? Find(string id) => byId.GetValueOrDefault(id);

    /// <summary>Lemmas are looked up lower-cased, as WordNet's index.* files list them ("AD" and "ad" are one entry).</summary>
    public static string LemmaKey(string lemma) => lemma.ToLowerInvariant();

    /// <summary>All senses (synsets, any part of speech) that contain <paramref name="lemma"/>, in file order.</summary>
    public IReadOnlyList<Synset> Senses(string lemma) =>
        byLemma.TryGetValue(LemmaKey(lemma), out var senses) ? senses : [];

    /// <summary>Reads the data.* files present in <paramref name="dictDirectory"/> (at least one must be).</summary>
    public static WordNetDatabase Load(string dictDirectory)
    {
        var files = DataFiles.Select(name => Path.Combine(dictDirectory, name)).Where(File.Exists).ToArray();
        if (files.Length == 0)
            throw new FileNotFoundException($"No WordNet data.* files in {dictDirectory} (run `service-cli data wordnet` or scripts/fetch-wordnet.sh).");
        var synsets = files
            .SelectMany(File.ReadLines)
            .Where(line => line.Length > 0 && !line.StartsWith("  ", StringComparison.Ordinal))
            .Select(ParseLine)
            .ToList();
        return new WordNetDatabase(synsets);
    }

    /// <summary>Parses one data.* line (not a license header line).</summary>
    public static Synset ParseLine(string line)
    {
        var bar = line.IndexOf(" | ", StringComparison.Ordinal);
        var head = (bar < 0 ? line : line[..bar]).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var gloss = bar < 0 ? "" : line[(bar + 3)..].Trim();

        var offset = int.Parse(head[0], System.Globalization.CultureInfo.InvariantCulture);
        var lexFile = int.Parse(head[1], System.Globalization.CultureInfo.InvariantCulture);
        if (lexFile < 0 || lexFile >= LexNames.Count)
            throw new FormatException($"Synset {head[0]}: lex_filenum {head[1]} is not one of the 45 lexicographer files.");
        var ssType = head[2][0];
        var wordCount = Convert.ToInt32(head[3], 16);
        var lemmas = new List<string>(wordCount);
        for (var w = 0; w < wordCount; w++)
            lemmas.Add(NormalizeLemma(head[4 + 2 * w]));

        var hypernyms = new List<string>();
        var pointer = 4 + 2 * wordCount;
        var pointerCount = pointer < head.Length ? int.Parse(head[pointer], System.Globalization.CultureInfo.InvariantCulture) : 0;
        for (var p = 0; p < pointerCount; p++)
        {
            var (symbol, target, pos) = (head[pointer + 1 + 4 * p], head[pointer + 2 + 4 * p], head[pointer + 3 + 4 * p]);
            if (symbol is "@" or "@i")
                hypernyms.Add($"{target}-{(pos == "s" ? "a" : pos)}");
        }

        var frames = new SortedSet<int>();
        var frame = pointer + 1 + 4 * pointerCount;
        if (ssType == 'v' && frame < head.Length)
        {
            var frameCount = int.Parse(head[frame], System.Globalization.CultureInfo.InvariantCulture);
            for (var f = 0; f < frameCount; f++)
                if (head[frame + 3 + 3 * f] == "00")
                    frames.Add(int.Parse(head[frame + 2 + 3 * f], System.Globalization.CultureInfo.InvariantCulture));
        }

        var (definition, examples) = SplitGloss(gloss);
        return new Synset(offset, lexFile, LexNames[lexFile], ssType, lemmas, definition, examples, hypernyms, [.. frames]);
    }

    /// <summary>"ready_to_hand(p)" → "ready to hand".</summary>
    public static string NormalizeLemma(string word)
    {
        var paren = word.IndexOf('(');
        if (paren > 0 && word.EndsWith(')'))
            word = word[..paren];
        return word.Replace('_', ' ');
    }

    /// <summary>
    /// Splits a gloss at semicolons outside double quotes. Segments that start with a quote are examples (the text
    /// between the first and the last quote, so a trailing attribution such as <c>- Shakespeare</c> is dropped);
    /// the others, joined with "; ", are the definition.
    /// </summary>
    public static (string Definition, IReadOnlyList<string> Examples) SplitGloss(string gloss)
    {
        var definition = new List<string>();
        var examples = new List<string>();
        var inQuote = false;
        var start = 0;
        for (var i = 0; i <= gloss.Length; i++)
        {
            if (i < gloss.Length && gloss[i] == '"')
                inQuote = !inQuote;
            if (i < gloss.Length && (gloss[i] != ';' || inQuote))
                continue;
            var segment = gloss[start..i].Trim();
            start = i + 1;
            if (segment.Length == 0)
                continue;
            var last = segment.LastIndexOf('"');
            if (segment[0] == '"' && last > 0)
            {
                var example = segment[1..last].Trim();
                if (example.Length > 0)
                    examples.Add(example);
            }
            else
                definition.Add(segment);
        }
        return (string.Join("; ", definition), examples);
    }
}
