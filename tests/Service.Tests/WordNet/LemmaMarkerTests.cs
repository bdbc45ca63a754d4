using Service.Cli.Text;

namespace Service.Tests.WordNet;

public sealed class LemmaMarkerTests
{
    [Theory]
    [InlineData("he cashed a check at the bank", "bank", "he cashed a check at the «bank»")]
    [InlineData("She deposits her paycheck every month", "deposit", "She «deposits» her paycheck every month")]
    [InlineData("Rumors and accusations are flying", "fly", "Rumors and accusations are «flying»")]
    [InlineData("ice crystals frosted the glass", "frost", "ice crystals «frosted» the glass")]
    [InlineData("The patient is respiring", "respire", "The patient is «respiring»")]
    [InlineData("he was running late", "run", "he was «running» late")]
    [InlineData("she carries it", "carry", "she «carries» it")]
    [InlineData("The Bank of England", "bank", "The «Bank» of England")]
    [InlineData("the plane takes off at noon", "take off", "the plane «takes off» at noon")]
    [InlineData("a well-known fact", "well known", "a «well-known» fact")]
    public void Marks_the_lemma_with_simple_inflections_and_any_case(string sentence, string lemma, string expected)
    {
        var marked = LemmaMarker.Mark(sentence, [lemma]);

        Assert.NotNull(marked);
        Assert.Equal(expected, marked.Text);
        Assert.Equal(lemma, marked.Lemma);
    }

    [Fact]
    public void Finds_which_of_the_synset_lemmas_occurs()
    {
        var marked = LemmaMarker.Mark("The patient is respiring", ["breathe", "take a breath", "respire", "suspire"]);

        Assert.Equal("respire", marked?.Lemma);
        Assert.Equal("respiring", marked?.Surface);
    }

    [Fact]
    public void The_longest_lemma_wins_over_a_shorter_one_inside_it()
    {
        var marked = LemmaMarker.Mark("the bank building is closed", ["bank", "bank building"]);

        Assert.Equal("the «bank building» is closed", marked?.Text);
    }

    [Fact]
    public void Markers_never_spell_a_BERT_special_token()
    {
        // With [ ] this would read "[mask]", which the uncased MiniLM tokenizer turns into its [MASK] token (id 103).
        Assert.Equal("wear a «mask»", LemmaMarker.Mark("wear a mask", ["mask"])?.Text);
    }

    [Theory]
    [InlineData("He threw down his gun and fled")] // irregular: flee → fled
    [InlineData("the banker smiled")]              // a derived word, not an inflection
    [InlineData("a grassy embankment")]            // inside another word
    public void Returns_null_when_no_lemma_occurs_as_a_whole_word(string sentence)
    {
        Assert.Null(LemmaMarker.Mark(sentence, ["flee", "fly", "take flight", "bank"]));
    }
}
