using System.Net;
using System.Text;
using System.Text.Json;

namespace Service.Tests.Api;

/// <summary>
/// Issue 16, faults 1 and 5: every route that takes text accepts any code point. Noncharacters, control and format
/// characters are removed as the reference BERT tokenizer removes them (200); a text left with nothing visible is 422
/// naming the field and the code point, on every route alike. Before the fix U+FFFE gave 500 and U+200B a vector; a
/// lone combining mark (U+0301, which the uncased tokenizer strips) gave the vector of an empty text.
/// An unpaired surrogate escape (<c>\ud800</c>) is not valid UTF-16, so the JSON reader refuses the body: 400.
/// </summary>
[Collection(IndexServiceCollection.Name)]
public sealed class UnicodeInputTests(IndexServiceFixture fixture)
{
    /// <summary>JSON string bodies (escapes as a client sends them) that hold a code point the tokenizer removes.</summary>
    static readonly string[] Removed = [@"\ufffe", @"\uffff", @"\ufdd0", @"\ufdef", @"\u200b", @"\u0000", @"\u00ad", @"\u2028", @"\u0301"];

    /// <summary>Route, body with {0} where the text goes.</summary>
    static readonly (string Route, string Template)[] Routes =
    [
        ("/embed", """{"inputs": "{0}"}"""),
        ("/v1/embeddings", """{"input": ["{0}"]}"""),
        ("/similarity", """{"inputs": {"source_sentence": "{0}", "sentences": ["a cat"]}}"""),
        ("/v1/similarity/pairs", """{"pairs": [["a cat", "{0}"]]}"""),
        ("/rerank", """{"query": "{0}", "texts": ["a cat"]}"""),
        ("/v1/search", """{"index": "shared", "query": "{0}", "k": 3, "budget": 10, "method": "cur"}"""),
    ];

    static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    static string Body(string template, string text) => template.Replace("{0}", text, StringComparison.Ordinal);

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (route, template) in Routes)
        {
            foreach (var text in Removed)
                data.Add(route, template, text);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Text_holding_a_removed_code_point_is_200_and_text_of_only_such_code_points_is_422(string route, string template, string codePoint)
    {
        if (route == "/v1/search")
            await fixture.SharedIndexAsync();

        var inside = await fixture.Client.PostAsync(route, Json(Body(template, $"a cat{codePoint} sleeps")));
        var alone = await fixture.Client.PostAsync(route, Json(Body(template, codePoint)));

        Assert.Equal(HttpStatusCode.OK, inside.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, alone.StatusCode);
        var problem = JsonDocument.Parse(await alone.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("urn:service:problem:validation-failed", problem.GetProperty("type").GetString());
        Assert.Contains("no visible characters", problem.GetProperty("detail").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("field").GetString()));
    }

    [Theory]
    [InlineData(@"\ud800")]
    [InlineData(@"\udfff")]
    [InlineData(@"a \udc00 b")]
    public async Task An_unpaired_surrogate_is_a_400_naming_the_JSON_path_on_every_route(string text)
    {
        foreach (var (route, template) in Routes)
        {
            var response = await fixture.Client.PostAsync(route, Json(Body(template, text)));

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("urn:service:problem:malformed-request", problem.GetProperty("type").GetString());
            Assert.StartsWith("$.", problem.GetProperty("json_path").GetString());
        }
    }

    [Fact]
    public async Task Inserted_items_with_a_noncharacter_are_scored_and_an_item_of_only_one_is_refused_before_any_work()
    {
        await fixture.BuildAsync("unicode-insert", items: 6, anchorQueries: 4);
        using var admin = fixture.Admin();

        var inserted = await admin.PostAsync("/v1/indexes/unicode-insert/items", Json("""{"items": [{"id": "nc", "text": "a cat\ufffe sleeps"}]}"""));
        var refused = await admin.PostAsync("/v1/indexes/unicode-insert/items", Json("""{"items": [{"id": "only", "text": "\ufffe\u200b"}]}"""));

        Assert.True(inserted.IsSuccessStatusCode, await inserted.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("items[0].text", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_build_whose_items_hold_a_noncharacter_inside_their_text_reaches_ready_and_is_searchable()
    {
        using var admin = fixture.Admin();
        var body = """{"name": "unicode-items", "items": [{"id": "a", "text": "a cat\ufffe sleeps"}, {"id": "b", "text": "a dog\u200b barks"}, {"id": "c", "text": "rain\u0301 falls"}], "anchor_queries": ["pets", "weather"]}""";

        var accepted = await admin.PostAsync("/v1/indexes", Json(body));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var ready = await fixture.WaitAsync("unicode-items", "ready");
        var search = await fixture.Client.PostAsync("/v1/search", Json("""{"index": "unicode-items", "query": "a sleeping cat", "k": 3, "budget": 3, "method": "exhaustive"}"""));

        Assert.Equal(3, ready.GetProperty("n").GetInt32());
        Assert.True(search.IsSuccessStatusCode, await search.Content.ReadAsStringAsync());
        var ids = JsonDocument.Parse(await search.Content.ReadAsStringAsync()).RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString());
        Assert.Equal(["a", "b", "c"], ids.Order());
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/v1/indexes/unicode-items")).StatusCode);
    }

    [Fact]
    public async Task A_build_whose_anchor_query_is_only_a_noncharacter_is_422_before_the_202_and_leaves_no_file()
    {
        using var admin = fixture.Admin();
        var body = """{"name": "unicode-build", "items": [{"id": "a", "text": "a cat"}, {"id": "b", "text": "a dog"}], "anchor_queries": ["pets", "\ufffe"]}""";

        var response = await admin.PostAsync("/v1/indexes", Json(body));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("anchor_queries[1]", await response.Content.ReadAsStringAsync());
        Assert.Empty(Directory.GetFiles(fixture.IndexDirectory, "unicode-build*"));
    }
}
