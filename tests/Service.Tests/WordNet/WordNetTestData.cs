using Service.Cli.Text;

namespace Service.Tests.WordNet;

/// <summary>Locates the committed fixture and the (optional, git-ignored) real database; checks the split invariant.</summary>
static class WordNetTestData
{
    public static string RepositoryRoot { get; } =
        DataCommands.FindRepositoryRoot(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException("Repository root (Service.sln) not found above the test binaries.");

    public static string FixtureDirectory => Path.Combine(RepositoryRoot, "tests", "Service.Tests", "Fixtures", "wordnet");

    /// <summary>Where `service-cli data wordnet` / scripts/fetch-wordnet.sh unpack the real database.</summary>
    public static string RealDictDirectory => DataCommands.DictDirectory(RepositoryRoot);

    static readonly Lazy<WordNetDatabase> fixture = new(() => WordNetDatabase.Load(FixtureDirectory));

    public static WordNetDatabase Fixture => fixture.Value;

    /// <summary>
    /// No synset, query or domain crosses splits: the three domain lists partition the 45 lexicographer files;
    /// every item sits in its domain's split; every query, its gold item and all its negatives share one split;
    /// each split's pairs only name that split's queries and items. Plain loops: this runs on ~117k items.
    /// </summary>
    public static void AssertSplitsAreDisjoint(WordNetBenchmark benchmark)
    {
        var domains = WordNetSplits.Names.SelectMany(WordNetSplits.Domains).ToList();
        Assert.Equal(WordNetDatabase.LexNames.Order(StringComparer.Ordinal), domains.Order(StringComparer.Ordinal));

        var splitOfItem = new Dictionary<string, string>();
        var splitOfDomain = new Dictionary<string, string>();
        foreach (var item in benchmark.Items)
        {
            if (!splitOfItem.TryAdd(item.Id, item.Split))
                Assert.Fail($"Item {item.Id} appears twice.");
            if (item.Split != WordNetSplits.Of(item.LexName))
                Assert.Fail($"Item {item.Id} ({item.LexName}) is in {item.Split}.");
            if (splitOfDomain.TryGetValue(item.LexName, out var seen) && seen != item.Split)
                Assert.Fail($"Domain {item.LexName} is in {seen} and {item.Split}.");
            splitOfDomain[item.LexName] = item.Split;
        }

        var splitOfQuery = new Dictionary<string, string>();
        foreach (var query in benchmark.Queries)
        {
            if (!splitOfQuery.TryAdd(query.Id, query.Split))
                Assert.Fail($"Query {query.Id} appears twice.");
            if (splitOfItem[query.Gold] != query.Split || WordNetSplits.Of(query.LexName) != query.Split)
                Assert.Fail($"Query {query.Id} ({query.Split}) has gold {query.Gold} in {splitOfItem[query.Gold]}.");
            if (query.Negatives.Contains(query.Gold) || query.Negatives.Distinct().Count() != query.Negatives.Count)
                Assert.Fail($"Query {query.Id}: negatives repeat or contain the gold item.");
            foreach (var negative in query.Negatives)
                if (splitOfItem[negative] != query.Split)
                    Assert.Fail($"Query {query.Id} ({query.Split}) has negative {negative} in {splitOfItem[negative]}.");
        }

        foreach (var split in WordNetSplits.Names)
            foreach (var pair in benchmark.Pairs(split))
                if (splitOfQuery[pair.QueryId] != split || splitOfItem[pair.ItemId] != split)
                    Assert.Fail($"Pair ({pair.QueryId}, {pair.ItemId}) in {split} crosses splits.");
    }
}
