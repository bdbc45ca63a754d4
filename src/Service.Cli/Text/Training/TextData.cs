using System.Text.Json;
using Service.Models.Text;

namespace Service.Cli.Text.Training;

/// <summary>A query with its candidates from pairs-&lt;split&gt;.jsonl: the gold item (label 1) first, then hard negatives (0).</summary>
public sealed record QueryGroup(string QueryId, string Query, IReadOnlyList<(string ItemId, string Item, int Label)> Candidates);

/// <summary>Loads the WordNet benchmark files written by <c>data wordnet-benchmark</c> (see docs/data/wordnet.md).</summary>
public static class TextData
{
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string DefaultDirectory() =>
        Path.Combine(DataCommands.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? Directory.GetCurrentDirectory(), "data", "wordnet");

    /// <summary>Pairs grouped by query, in file order.</summary>
    public static List<QueryGroup> LoadGroups(string directory, string split)
    {
        var path = Path.Combine(directory, $"pairs-{split}.jsonl");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} not found; run `service-cli data wordnet` and `service-cli data wordnet-benchmark` first.", path);
        var groups = new List<QueryGroup>();
        string? current = null;
        string query = "";
        var candidates = new List<(string, string, int)>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0)
                continue;
            var pair = JsonSerializer.Deserialize<PairLine>(line, Json)!;
            if (pair.QueryId != current)
            {
                if (current is not null)
                    groups.Add(new QueryGroup(current, query, candidates));
                current = pair.QueryId;
                query = pair.Query;
                candidates = [];
            }
            candidates.Add((pair.ItemId, pair.Item, pair.Label));
        }
        if (current is not null)
            groups.Add(new QueryGroup(current, query, candidates));
        return groups;
    }

    /// <summary>A split's queries made from definitions (<see cref="GlossQueries"/>).</summary>
    public static string GlossQueriesFile(string split) => $"gloss-queries-{split}.jsonl";

    /// <summary>Queries of a split (id, text, gold, domain).</summary>
    public static List<QueryLine> LoadQueries(string directory, string split) => LoadQueryFile(Path.Combine(directory, $"queries-{split}.jsonl"));

    /// <summary>A split's queries made from definitions, written by <c>data wordnet-benchmark</c>.</summary>
    public static List<QueryLine> LoadGlossQueries(string directory, string split) => LoadQueryFile(Path.Combine(directory, GlossQueriesFile(split)));

    static List<QueryLine> LoadQueryFile(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<QueryLine>(l, Json)!).ToList();

    /// <summary>Items of a split (id, text, domain).</summary>
    public static List<ItemLine> LoadItems(string directory, string split) =>
        File.ReadLines(Path.Combine(directory, "items.jsonl")).Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<ItemLine>(l, Json)!).Where(i => i.Split == split).ToList();

    /// <summary>The MiniLM tokenizer on the embedded vocabulary, with the training length cap.</summary>
    public static int[] Tokenize(TextTokenizer tokenizer, string text) => tokenizer.Encode(text, truncate: true).Ids;

    public sealed record PairLine(string QueryId, string ItemId, int Label, string Query, string Item);

    public sealed record QueryLine(string Id, string Text, string Lemma, string Gold, string[] Negatives, string LexName, string Split);

    public sealed record ItemLine(string Id, string Text, string[] Lemmas, string Pos, string LexName, string Split);
}
