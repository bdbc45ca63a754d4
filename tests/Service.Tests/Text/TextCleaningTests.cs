using Service.Models.Text;

namespace Service.Tests.Text;

public sealed class TextCleaningTests
{
    [Theory]
    [InlineData("")]
    [InlineData(" \t\n")]
    [InlineData("\u200b")]
    [InlineData("\u0000")]
    [InlineData("\u00ad")]
    [InlineData("\u2028 ")]
    [InlineData("\ufffe")]
    [InlineData("\u0301")] // a lone combining acute accent: the uncased tokenizer strips it
    [InlineData("\u0301 \u0308\u200b")]
    public void Text_with_nothing_left_for_the_tokenizer_is_blank(string text) => Assert.True(TextCleaning.IsBlank(text));

    [Theory]
    [InlineData("a")]
    [InlineData("e\u0301")] // é decomposed: the e stays
    [InlineData("\u00e9")]
    [InlineData("\u0301x")]
    [InlineData("😀")]
    public void Text_with_a_character_left_is_not_blank(string text) => Assert.False(TextCleaning.IsBlank(text));

    [Fact]
    public void The_first_removed_code_point_names_a_stripped_mark_too()
    {
        Assert.Equal(0x200B, TextCleaning.FirstRemoved("\u200b\u0301"));
        Assert.Equal(0x0301, TextCleaning.FirstRemoved(" \u0301"));
        Assert.Null(TextCleaning.FirstRemoved("plain text"));
    }
}
