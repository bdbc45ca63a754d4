using System.Globalization;
using System.Text;

namespace Service.Cli.Text;

/// <summary>An item to retrieve: one synset, its text written in one <see cref="ItemTextStyle"/>.</summary>
public sealed record BenchmarkItem(string Id, string Text, IReadOnlyList<string> Lemmas, char Pos, string LexName, string Split);

/// <summary>
/// A query: one example sentence with its target lemma marked; <see cref="Gold"/> is the synset it illustrates,
/// <see cref="Negatives"/> the other senses of <see cref="Lemma"/> in the same split. Id: gold id + "#" + the
/// example's index in the gloss.
/// </summary>
public sealed record BenchmarkQuery(string Id, string Text, string Lemma, string Gold, IReadOnlyList<string> Negatives, string LexName, string Split);

/// <summary>A training/evaluation pair: label 1 for (query, gold), 0 for (query, hard negative).</summary>
public sealed record BenchmarkPair(string QueryId, string ItemId, int Label, string Query, string Item);

/// <summary>Counts for one split.</summary>
public sealed record SplitStats(
    string Split, int Domains, int Synsets, int Examples, int ExamplesWithoutLemma, int Queries,
    int QueriesWithNegatives, int Negatives, int NegativesOutsideSplit, int Pairs);

/// <summary>
/// WordNet as a zero-shot word-sense benchmark: items are synsets, queries are gloss examples with the target
/// lemma marked, hard negatives are the other senses of that lemma.
/// <para>
/// Split rule: everything follows the synset's lexicographer file (<see cref="WordNetSplits"/>). A lemma's senses
/// often lie in several domains (bank: noun.group, noun.object, verb.motion, ...), so a query's negatives are the
/// other senses of its lemma <em>within the query's split</em>; senses in other splits are dropped (and counted in
/// <see cref="SplitStats.NegativesOutsideSplit"/>). Assigning whole lemmas to splits instead would contradict the
/// domain split itself (one synset has several lemmas, one lemma several domains). Dropping keeps every candidate
/// set inside one split, so no train item is ever scored in dev/test and no test item is ever seen in training;
/// the same surface word may still occur in several splits, as entity names do across ZeShEL worlds.
/// </para>
/// Negatives include senses of any part of speech (the noun "fly" is a negative for the verb "fly"); items carry
/// <see cref="BenchmarkItem.Pos"/> for an evaluation that wants same-POS candidates only.
/// </summary>
public sealed class WordNetBenchmark
{
    readonly Dictionary<string, BenchmarkItem> itemsById;

    WordNetBenchmark(IReadOnlyList<BenchmarkItem> items, IReadOnlyList<BenchmarkQuery> queries, IReadOnlyList<SplitStats> stats)
    {
        Items = items;
        Queries = queries;
        Stats = stats;
        itemsById = items.ToDictionary(item => item.Id);
    }

    public IReadOnlyList<BenchmarkItem> Items { get; }

    public IReadOnlyList<BenchmarkQuery> Queries { get; }

    /// <summary>One row per split, in <see cref="WordNetSplits.Names"/> order.</summary>
    public IReadOnlyList<SplitStats> Stats { get; }

    public BenchmarkItem Item(string id) => itemsById[id];

    public static WordNetBenchmark Build(WordNetDatabase database, ItemTextStyle itemText = ItemTextStyle.Plain)
    {
        var items = new List<BenchmarkItem>();
        var queries = new List<BenchmarkQuery>();
        var examples = new Dictionary<string, int>();
        var unmarked = new Dictionary<string, int>();
        var dropped = new Dictionary<string, int>();
        foreach (var split in WordNetSplits.Names)
            examples[split] = unmarked[split] = dropped[split] = 0;

        foreach (var synset in database.Synsets)
        {
            var split = WordNetSplits.Of(synset.LexName);
            items.Add(new BenchmarkItem(synset.Id, ItemText.Write(synset, database, itemText), synset.Lemmas, synset.Pos, synset.LexName, split));
            for (var k = 0; k < synset.Examples.Count; k++)
            {
                examples[split]++;
                var marked = LemmaMarker.Mark(synset.Examples[k], synset.Lemmas);
                if (marked is null)
                {
                    unmarked[split]++;
                    continue;
                }
                var senses = database.Senses(marked.Lemma).Where(sense => sense.Id != synset.Id).ToList();
                var negatives = senses.Where(sense => WordNetSplits.Of(sense.LexName) == split).Select(sense => sense.Id).ToList();
                dropped[split] += senses.Count - negatives.Count;
                queries.Add(new BenchmarkQuery($"{synset.Id}#{k}", marked.Text, marked.Lemma, synset.Id, negatives, synset.LexName, split));
            }
        }

        var stats = WordNetSplits.Names.Select(split =>
        {
            var splitQueries = queries.Where(query => query.Split == split).ToList();
            var negatives = splitQueries.Sum(query => query.Negatives.Count);
            return new SplitStats(
                split,
                items.Where(item => item.Split == split).Select(item => item.LexName).Distinct().Count(),
                items.Count(item => item.Split == split),
                examples[split], unmarked[split], splitQueries.Count,
                splitQueries.Count(query => query.Negatives.Count > 0),
                negatives, dropped[split], splitQueries.Count + negatives);
        }).ToList();
        return new WordNetBenchmark(items, queries, stats);
    }

    /// <summary>The split's pairs: for each query, (query, gold, 1) then (query, negative, 0) per hard negative.</summary>
    public IEnumerable<BenchmarkPair> Pairs(string split)
    {
        foreach (var query in Queries.Where(query => query.Split == split))
        {
            yield return new BenchmarkPair(query.Id, query.Gold, 1, query.Text, itemsById[query.Gold].Text);
            foreach (var negative in query.Negatives)
                yield return new BenchmarkPair(query.Id, negative, 0, query.Text, itemsById[negative].Text);
        }
    }

    /// <summary>The stats as a Markdown table (with a totals row) plus the split's domains.</summary>
    public string StatsMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| split | domains | synsets (items) | examples | examples without a lemma match (dropped) | queries | queries with ≥1 hard negative | hard negatives | negatives dropped (other split) | pairs |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in Stats.Append(Total()))
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {s.Split} | {s.Domains} | {s.Synsets} | {s.Examples} | {s.ExamplesWithoutLemma} | {s.Queries} | {s.QueriesWithNegatives} ({Percent(s.QueriesWithNegatives, s.Queries)}) | {s.Negatives} | {s.NegativesOutsideSplit} | {s.Pairs} |");
        return text.ToString();
    }

    SplitStats Total() => new(
        "all", Stats.Sum(s => s.Domains), Stats.Sum(s => s.Synsets), Stats.Sum(s => s.Examples),
        Stats.Sum(s => s.ExamplesWithoutLemma), Stats.Sum(s => s.Queries), Stats.Sum(s => s.QueriesWithNegatives),
        Stats.Sum(s => s.Negatives), Stats.Sum(s => s.NegativesOutsideSplit), Stats.Sum(s => s.Pairs));

    static string Percent(int part, int whole) =>
        whole == 0 ? "–" : (100.0 * part / whole).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
