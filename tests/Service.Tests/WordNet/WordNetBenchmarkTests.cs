using Service.Cli.Text;

namespace Service.Tests.WordNet;

public sealed class WordNetBenchmarkTests
{
    static readonly Lazy<WordNetBenchmark> fixture = new(() => WordNetBenchmark.Build(WordNetTestData.Fixture));

    static WordNetBenchmark Benchmark => fixture.Value;

    static BenchmarkQuery Query(string id) => Benchmark.Queries.Single(q => q.Id == id);

    [Fact]
    public void Items_are_one_per_synset_with_lemmas_and_definition()
    {
        Assert.Equal(15, Benchmark.Items.Count);
        Assert.Equal("bank, bank building: a building in which the business of banking transacted", Benchmark.Item("02790795-n").Text);
        Assert.Equal("handy, ready to hand: easy to reach", Benchmark.Item("00019769-a").Text);
    }

    [Fact]
    public void Queries_are_marked_examples_whose_gold_is_their_synset()
    {
        var query = Query("08437235-n#1");

        Assert.Equal("that «bank» holds the mortgage on my home", query.Text);
        Assert.Equal("bank", query.Lemma);
        Assert.Equal("08437235-n", query.Gold);
        Assert.Equal("noun.group", query.LexName);
        Assert.Equal("train", query.Split);
        Assert.Equal("She «deposits» her paycheck every month", Query("02315835-v#0").Text);
    }

    [Fact]
    public void Examples_without_a_lemma_are_dropped_and_counted()
    {
        Assert.Equal(14, Benchmark.Queries.Count);
        Assert.DoesNotContain(Benchmark.Queries, q => q.Gold == "02079709-v"); // "He threw down his gun and fled"
        Assert.Equal([0, 0, 1], Benchmark.Stats.Select(s => s.ExamplesWithoutLemma));
    }

    [Fact]
    public void Hard_negatives_are_the_other_senses_of_the_marked_lemma_within_the_split()
    {
        // bank: train query → the other train senses; the dev (noun.possession, verb.contact) and test (verb.motion) senses are dropped.
        Assert.Equal(["02790795-n", "09236341-n", "02315835-v"], Query("08437235-n#0").Negatives);
        Assert.Equal(["01237357-v"], Query("13377435-n#0").Negatives);
        Assert.Equal(["13377435-n"], Query("01237357-v#0").Negatives);
        Assert.Empty(Query("02043258-v#0").Negatives);
        // fly (verb.motion, test): the noun.animal sense and the other verb.motion sense; adj.all "fly" is train.
        Assert.Equal(["02192818-n", "02079709-v"], Query("01843346-v#0").Negatives);
        // deposit has no other sense in the fixture (bank is not the marked lemma here).
        Assert.Empty(Query("02315835-v#0").Negatives);
    }

    [Fact]
    public void Pairs_are_gold_then_negatives_with_labels_one_and_zero()
    {
        var pairs = Benchmark.Pairs("test").Where(p => p.QueryId == "01843346-v#0").ToList();

        Assert.Equal([("01843346-v", 1), ("02192818-n", 0), ("02079709-v", 0)], pairs.Select(p => (p.ItemId, p.Label)));
        Assert.All(pairs, p => Assert.Equal("Rumors and accusations are «flying»", p.Query));
        Assert.Equal("fly: two-winged insects characterized by active flight", pairs[1].Item);
    }

    [Fact]
    public void Stats_count_domains_synsets_queries_negatives_and_pairs_per_split()
    {
        var stats = Benchmark.Stats.ToDictionary(s => s.Split);

        Assert.Equal(new SplitStats("train", 6, 7, 8, 0, 8, 4, 12, 12, 20), stats["train"]);
        Assert.Equal(new SplitStats("dev", 2, 3, 3, 0, 3, 2, 2, 10, 5), stats["dev"]);
        Assert.Equal(new SplitStats("test", 3, 5, 4, 1, 3, 1, 2, 7, 5), stats["test"]);
    }

    [Fact]
    public void Fixture_split_is_disjoint()
    {
        WordNetTestData.AssertSplitsAreDisjoint(Benchmark);
        Assert.Equal(["dev", "test", "train"], Benchmark.Queries.Select(q => q.Split).Distinct().Order(StringComparer.Ordinal)); // the fixture reaches every split
    }

    [Fact]
    public void Split_domains_partition_the_45_lexicographer_files()
    {
        Assert.Equal(29, WordNetSplits.TrainDomains.Count);
        Assert.Equal(8, WordNetSplits.DevDomains.Count);
        Assert.Equal(8, WordNetSplits.TestDomains.Count);
        Assert.Equal("test", WordNetSplits.Of("noun.animal"));
        Assert.Equal("test", WordNetSplits.Of("verb.motion"));
        Assert.Equal("dev", WordNetSplits.Of("verb.contact"));
        Assert.Equal("train", WordNetSplits.Of("adj.all"));
        Assert.Throws<ArgumentException>(() => WordNetSplits.Of("noun.unknown"));
    }

    [Fact]
    public void Real_database_split_is_disjoint_when_data_is_present()
    {
        var dict = WordNetTestData.RealDictDirectory;
        if (!File.Exists(Path.Combine(dict, "data.noun")))
            return; // data/ is git-ignored: run `service-cli data wordnet` (or scripts/fetch-wordnet.sh) to check the real database too.

        var database = WordNetDatabase.Load(dict);
        var benchmark = WordNetBenchmark.Build(database);

        Assert.Equal(117791, benchmark.Items.Count); // WordNet 3.1's synset count
        Assert.Equal(45, benchmark.Items.Select(i => i.LexName).Distinct().Count());
        Assert.True(benchmark.Queries.Count > 40_000, $"{benchmark.Queries.Count} queries");
        WordNetTestData.AssertSplitsAreDisjoint(benchmark);
        var trainItems = benchmark.Items.Where(i => i.Split == "train").Select(i => i.Id).ToHashSet();
        var glossQueries = GlossQueries.Build(database, "train").ToList();
        Assert.True(glossQueries.Count > 40_000, $"{glossQueries.Count} definition queries");
        Assert.All(glossQueries, q => Assert.True(trainItems.Contains(q.Gold) && q.Negatives.All(trainItems.Contains), q.Id));
    }
}
