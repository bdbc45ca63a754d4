using System.Text.Json;
using Service.Tests.Fixtures;

namespace Service.Tests.Text;

/// <summary>
/// Token ids and embeddings against transformers.js, an independent implementation run on the same ONNX file and vocabulary
/// (fixture written by scripts/make-transformersjs-fixture.sh): accents, CJK, emoji, punctuation runs, long words, the
/// 256-token edge.
/// </summary>
[Collection(MiniLmCollection.Name)]
public sealed class TransformersJsReferenceTests(MiniLmFixture fixture)
{
    sealed record Row(string Text, int[] Ids, float[]? Embedding);

    static readonly Row[] Rows = JsonDocument.Parse(File.ReadAllText(Path.Combine(
            WordNet.WordNetTestData.RepositoryRoot, "tests", "Service.Tests", "Fixtures", "transformersjs", "minilm-reference.json")))
        .RootElement.GetProperty("rows").EnumerateArray()
        .Select(r => new Row(r.GetProperty("text").GetString()!, r.GetProperty("ids").Deserialize<int[]>()!, r.GetProperty("embedding").Deserialize<float[]?>()))
        .ToArray();

    public static TheoryData<int> Indexes() => new(Enumerable.Range(0, Rows.Length));

    [Fact]
    public void The_fixture_covers_emoji_CJK_and_the_256_token_edge() =>
        Assert.True(Rows.Length >= 30 && Rows.Any(r => r.Text.Contains("😀", StringComparison.Ordinal)) && Rows.Any(r => r.Text.Contains('北')) && Rows.Any(r => r.Ids.Length == 256) && Rows.Any(r => r.Ids.Length > 256));

    [Theory]
    [MemberData(nameof(Indexes))]
    public void Token_ids_equal_the_reference(int index)
    {
        var row = Rows[index];

        var ids = fixture.Tokenizer.Encode(row.Text, truncate: true).Ids;

        // Over 256 tokens, truncation keeps the first 255 and the final [SEP], as the Python and Rust tokenizers do.
        Assert.Equal(row.Ids.Length <= 256 ? row.Ids : [.. row.Ids[..255], 102], ids);
    }

    [Fact]
    public async Task Embeddings_equal_the_reference_within_1e_4()
    {
        var rows = Rows.Where(r => r.Embedding is not null).ToArray();
        var output = await fixture.Model.EmbedAsync(rows.Select(r => r.Text).ToArray(), truncate: false, normalize: true, CancellationToken.None);

        Assert.True(rows.Length >= 30);
        for (var i = 0; i < rows.Length; i++)
        {
            var error = rows[i].Embedding!.Zip(output.Vectors[i], (e, a) => Math.Abs(e - a)).Max();
            Assert.True(error < 1e-4, $"row {i} ({rows[i].Text[..Math.Min(30, rows[i].Text.Length)]}): max abs error {error}");
        }
    }
}
