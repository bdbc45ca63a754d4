using Service.Cli.Text;

namespace Service.Tests.WordNet;

public sealed class ItemTextTests
{
    static Synset Find(string id) => WordNetTestData.Fixture.Find(id)!;

    [Fact]
    public void Plain_text_is_lemmas_then_definition()
    {
        Assert.Equal("bank, bank building: a building in which the business of banking transacted", ItemText.Plain(Find("02790795-n")));
    }

    [Fact]
    public void Rich_text_adds_the_domain_and_a_verbs_frames()
    {
        Assert.Equal(
            "breathe, take a breath, respire, suspire: draw air into, and expel out of, the lungs; domain: body; Somebody ----s; Somebody ----s something",
            ItemText.Rich(Find("00001740-v"), WordNetTestData.Fixture));
        // the hypernym (03182015-n) is not in the fixture, so no "kind of"
        Assert.Equal(
            "bank, bank building: a building in which the business of banking transacted; domain: artifact",
            ItemText.Rich(Find("02790795-n"), WordNetTestData.Fixture));
    }

    [Fact]
    public void Rich_text_names_the_first_lemma_of_the_first_hypernym()
    {
        // Two lines of WordNet 3.1's data.verb (cover's pointer list shortened; the parser reads p_cnt pointers).
        var directory = Directory.CreateTempSubdirectory("wordnet-");
        try
        {
            File.WriteAllLines(Path.Combine(directory.FullName, "data.verb"),
            [
                "01237357 35 v 01 bank 1 001 @ 01335412 v 0000 01 + 08 00 | cover with ashes so to control the rate of burning; \"bank a fire\"  ",
                "01335412 35 v 01 cover 0 001 ~ 01237357 v 0000 02 + 08 00 + 11 00 | provide with a covering or cause to be covered  ",
            ]);
            var database = WordNetDatabase.Load(directory.FullName);

            Assert.Equal(
                "bank: cover with ashes so to control the rate of burning; domain: contact; kind of: cover; Somebody ----s something",
                ItemText.Rich(database.Find("01237357-v")!, database));
            Assert.Equal(
                "cover: provide with a covering or cause to be covered; domain: contact; Somebody ----s something; Something ----s something",
                ItemText.Rich(database.Find("01335412-v")!, database));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Frame_numbers_run_from_1_to_35()
    {
        Assert.Equal("Something ----s", VerbFrames.Sentence(1));
        Assert.Equal("Something ----s INFINITIVE", VerbFrames.Sentence(35));
        Assert.Throws<ArgumentOutOfRangeException>(() => VerbFrames.Sentence(36));
    }

    [Fact]
    public void The_benchmark_writes_its_items_and_pairs_in_the_chosen_style()
    {
        var rich = WordNetBenchmark.Build(WordNetTestData.Fixture, ItemTextStyle.Rich);

        Assert.Equal(ItemText.Rich(Find("00001740-v"), WordNetTestData.Fixture), rich.Item("00001740-v").Text);
        Assert.All(rich.Pairs("train"), pair => Assert.Equal(rich.Item(pair.ItemId).Text, pair.Item));
    }
}
