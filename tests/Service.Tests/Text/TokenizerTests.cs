using Service.Models.Errors;
using Service.Tests.Fixtures;

namespace Service.Tests.Text;

[Collection(MiniLmCollection.Name)]
public sealed class TokenizerTests(MiniLmFixture fixture)
{
    [Fact]
    public void Encodes_the_model_card_sentence_to_the_reference_ids()
    {
        var encoded = fixture.Tokenizer.Encode("A man is playing a guitar.", truncate: false);

        Assert.Equal([101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102], encoded.Ids);
        Assert.False(encoded.Truncated);
    }

    [Fact]
    public void Too_long_input_is_refused_with_its_token_count_unless_truncation_is_allowed()
    {
        var text = string.Join(' ', Enumerable.Repeat("guitar", 300));

        var error = Assert.Throws<ServiceException>(() => fixture.Tokenizer.Encode(text, truncate: false, inputIndex: 3));
        Assert.Equal(ServiceErrorKind.InputTooLong, error.Kind);
        Assert.Equal(302, error.Extensions["token_count"]);
        Assert.Equal(3, error.Extensions["input_index"]);
        Assert.Contains("302 tokens", error.Message);

        var truncated = fixture.Tokenizer.Encode(text, truncate: true);
        Assert.Equal(256, truncated.Ids.Length);
        Assert.Equal(101, truncated.Ids[0]);
        Assert.Equal(102, truncated.Ids[^1]);
        Assert.Equal(302, truncated.OriginalTokenCount);
        Assert.True(truncated.Truncated);
    }

    [Fact]
    public void Accents_are_stripped_like_the_uncased_reference_tokenizer()
    {
        var accented = fixture.Tokenizer.Encode("Héllo café, naïve Ångström", truncate: false);
        var plain = fixture.Tokenizer.Encode("hello cafe, naive angstrom", truncate: false);

        Assert.Equal(plain.Ids, accented.Ids);
        Assert.DoesNotContain(100, accented.Ids);
    }

    [Fact]
    public void Input_of_exactly_the_limit_passes_untruncated()
    {
        var text = string.Join(' ', Enumerable.Repeat("guitar", 254));

        var encoded = fixture.Tokenizer.Encode(text, truncate: false);

        Assert.Equal(256, encoded.Ids.Length);
        Assert.False(encoded.Truncated);
    }
}
