using Service.Models.Lm;

namespace Service.Tests.Lm;

public sealed class InContextVocabularyTests
{
    readonly InContextVocabulary vocabulary = new(Clusters: 4, PerCluster: 2); // inputs 0..7, labels 8..11, BOS 12

    [Fact]
    public void A_sequence_reads_bos_then_x_y_per_demonstration_then_the_query()
    {
        Assert.Equal([12, 3, 9, 6, 11, 5], vocabulary.Sequence([(3, 1), (6, 3)], query: 5));
        Assert.Equal(13, vocabulary.Size);
    }

    [Fact]
    public void Chunks_hold_whole_demonstrations_that_fit_the_window_each_with_the_query()
    {
        (int, int)[] demonstrations = [.. Enumerable.Range(0, 7).Select(i => (i, i % 4))];

        var chunks = vocabulary.Chunks(demonstrations, query: 2, window: 9); // (9 − 2) / 2 = 3 per chunk

        Assert.Equal([3, 3, 1], chunks.Select(c => (c.Length - 2) / 2));
        Assert.All(chunks, c => Assert.True(c.Length <= 9));
        Assert.All(chunks, c => Assert.Equal(2, c[^1]));
        Assert.Equal(vocabulary.Sequence(demonstrations[6..], 2), chunks[2]);
        Assert.Equal([vocabulary.Sequence([], 2)], vocabulary.Chunks([], 2, 9));
        Assert.Throws<ArgumentException>(() => vocabulary.Chunks(demonstrations, 2, window: 3));
    }

    [Theory]
    [InlineData("x0", true, 0)]
    [InlineData("x7", true, 7)]
    [InlineData("x8", false, -1)]
    [InlineData("y1", false, -1)]
    [InlineData("x", false, -1)]
    [InlineData("x-1", false, -1)]
    [InlineData(null, false, -1)]
    public void Input_tokens_parse_only_inside_the_vocabulary(string? text, bool ok, int expected)
    {
        Assert.Equal(ok, vocabulary.TryParseInput(text, out var input));
        if (ok)
            Assert.Equal(expected, input);
    }

    [Fact]
    public void Text_encodes_token_by_token_and_names_the_first_unknown_word()
    {
        Assert.True(vocabulary.TryEncode("<s> x3 y1 x5", out var ids, out _));
        Assert.Equal([12, 3, 9, 5], ids);
        Assert.Equal("<s> x3 y1 x5", string.Join(' ', ids.Select(vocabulary.Name)));
        Assert.False(vocabulary.TryEncode("x3 -> y1", out _, out var error));
        Assert.Equal("->", error);
    }
}
