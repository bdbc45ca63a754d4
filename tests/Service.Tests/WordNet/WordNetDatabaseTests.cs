using Service.Cli.Text;

namespace Service.Tests.WordNet;

public sealed class WordNetDatabaseTests
{
    static Synset Find(string id) => WordNetTestData.Fixture.Synsets.Single(s => s.Id == id);

    [Fact]
    public void Fixture_license_header_lines_are_skipped_and_every_synset_is_read()
    {
        Assert.Equal(15, WordNetTestData.Fixture.Synsets.Count);
    }

    [Fact]
    public void Noun_line_fields_are_parsed()
    {
        var bank = Find("08437235-n");

        Assert.Equal(8437235, bank.Offset);
        Assert.Equal(14, bank.LexFileNumber);
        Assert.Equal("noun.group", bank.LexName);
        Assert.Equal('n', bank.SsType);
        Assert.Equal(["depository financial institution", "bank", "banking concern", "banking company"], bank.Lemmas);
        Assert.Equal("a financial institution that accepts deposits and channels the money into lending activities", bank.Definition);
        Assert.Equal(["he cashed a check at the bank", "that bank holds the mortgage on my home"], bank.Examples);
    }

    [Fact]
    public void Hypernym_pointers_are_kept_and_the_other_pointers_are_not()
    {
        Assert.Equal(["02191351-n"], Find("02192818-n").Hypernyms); // fly: @, then #m, +, %p and ~ pointers
        Assert.Equal(["03182015-n"], Find("02790795-n").Hypernyms);
    }

    [Fact]
    public void Verb_frames_after_the_pointers_do_not_leak_into_lemmas_or_gloss()
    {
        var breathe = Find("00001740-v");

        Assert.Equal("verb.body", breathe.LexName);
        Assert.Equal(["breathe", "take a breath", "respire", "suspire"], breathe.Lemmas);
        Assert.Equal("draw air into, and expel out of, the lungs", breathe.Definition);
        Assert.Equal(["I can breathe better when the air is clean", "The patient is respiring"], breathe.Examples);
    }

    [Fact]
    public void Only_a_verbs_generic_frames_are_kept_in_ascending_order()
    {
        Assert.Equal([2, 8], Find("00001740-v").Frames);
        Assert.Equal([1, 4], Find("01843346-v").Frames);
        Assert.Empty(Find("08437235-n").Frames);
        // stretch (WordNet 3.1): frame 8 for both lemmas, frame 2 for the first lemma only (w_num 01)
        var stretch = WordNetDatabase.ParseLine(
            "00027261 29 v 02 stretch 1 extend 0 007 @ 00025196 v 0000 + 00370340 n 0201 + 05302105 n 0202 + 00629932 n 0101 " +
            "+ 00629932 n 0102 ~ 00027563 v 0000 ~ 00028160 v 0000 02 + 08 00 + 02 01 | extend one's limbs or muscles, or the entire body");
        Assert.Equal([8], stretch.Frames);
    }

    [Fact]
    public void Adjective_satellites_lose_position_markers_and_take_the_a_id()
    {
        var handy = Find("00019769-a");

        Assert.Equal('s', handy.SsType);
        Assert.Equal('a', handy.Pos);
        Assert.Equal("adj.all", handy.LexName);
        Assert.Equal(["handy", "ready to hand"], handy.Lemmas);
        Assert.Equal(["found a handy spot for the can opener"], handy.Examples);
    }

    [Fact]
    public void Gloss_splits_at_top_level_semicolons_and_drops_attributions()
    {
        var (definition, examples) = WordNetDatabase.SplitGloss(
            "a tangible entity; usually followed by \"to\"; \"to be, or not to be; that is the question\" - Shakespeare; \"the team is a unit\"");

        Assert.Equal("a tangible entity; usually followed by \"to\"", definition);
        Assert.Equal(["to be, or not to be; that is the question", "the team is a unit"], examples);
    }

    [Fact]
    public void Senses_of_a_lemma_are_found_case_insensitively_across_parts_of_speech_in_file_order()
    {
        var ids = WordNetTestData.Fixture.Senses("Bank").Select(s => s.Id);

        Assert.Equal(["02790795-n", "08437235-n", "09236341-n", "13377435-n", "01237357-v", "02043258-v", "02315835-v"], ids);
    }

    [Fact]
    public void All_45_lexicographer_files_are_named_in_lex_filenum_order()
    {
        Assert.Equal(45, WordNetDatabase.LexNames.Distinct().Count());
        Assert.Equal("adj.all", WordNetDatabase.LexNames[0]);
        Assert.Equal("noun.animal", WordNetDatabase.LexNames[5]);
        Assert.Equal("verb.motion", WordNetDatabase.LexNames[38]);
        Assert.Equal("adj.ppl", WordNetDatabase.LexNames[44]);
    }
}
