using Service.Cli.Text;

namespace Service.Tests.WordNet;

public sealed class GlossQueriesTests : IDisposable
{
    readonly string dict = Path.Combine(Path.GetTempPath(), $"gloss-queries-{Guid.NewGuid():N}");

    public GlossQueriesTests()
    {
        Directory.CreateDirectory(dict);
        // Lexicographer files: 06 noun.artifact and 18 noun.person are training domains, 05 noun.animal a test domain.
        File.WriteAllLines(Path.Combine(dict, "data.noun"),
        [
            "  1 license header line",
            "02084071 06 n 01 dog 0 000 | a domesticated carnivore",
            "02113335 06 n 01 poodle 0 001 @ 02084071 n 0000 | an intelligent dog with a thick curly coat; \"the poodle barked\"",
            "02100001 06 n 01 mutt 0 001 @ 02084071 n 0000 | a mongrel",
            "02100000 05 n 01 puppy 0 001 @ 02084071 n 0000 | a young dog",
            "10114209 18 n 01 dog 0 000 | a dull unattractive unpleasant girl or woman",
            "07676602 05 n 01 dog 0 000 | a hot dog",
            "02100002 05 n 01 corgi 0 001 @ 07676602 n 0000 | a small dog with short legs",
        ]);
    }

    [Fact]
    public void A_hypernym_lemma_in_a_definition_of_the_same_split_is_marked_with_the_hypernym_as_gold()
    {
        var queries = GlossQueries.Build(WordNetDatabase.Load(dict), "train").ToList();

        var query = Assert.Single(queries); // mutt's definition lacks "dog"; puppy is in a test domain
        Assert.Equal("02084071-n@02113335-n", query.Id);
        Assert.Equal("an intelligent «dog» with a thick curly coat", query.Text);
        Assert.Equal("02084071-n", query.Gold);
        Assert.Equal(["10114209-n"], query.Negatives); // the test-domain "dog" is not a training negative
        Assert.Equal(("noun.artifact", "train"), (query.LexName, query.Split));
    }

    [Fact]
    public void A_test_split_gets_its_own_definition_queries_and_never_one_across_splits()
    {
        var query = Assert.Single(GlossQueries.Build(WordNetDatabase.Load(dict), "test")); // puppy's hypernym is a training synset

        Assert.Equal("02100002-n", query.Id.Split('@')[1]);
        Assert.Equal("a small «dog» with short legs", query.Text);
        Assert.Equal("07676602-n", query.Gold);
        Assert.Empty(query.Negatives);
        Assert.Equal("test", query.Split);
    }

    public void Dispose() => Directory.Delete(dict, true);
}
