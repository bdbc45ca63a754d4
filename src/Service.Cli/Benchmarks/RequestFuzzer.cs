using System.Text;
using System.Text.Json.Nodes;

namespace Service.Cli.Benchmarks;

/// <summary>One hostile request; <see cref="Route"/> names the route it aims at, so reports and tests can count coverage.</summary>
public sealed record FuzzCase(
    string Category, HttpMethod Method, string Path, byte[]? Body, string? ContentType, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>"METHOD /template" from <see cref="RequestFuzzer.Routes"/>, or <see cref="RequestFuzzer.UnknownRoute"/>.</summary>
    public string Route { get; init; } = "";
}

/// <summary>
/// Deterministic hostile requests for every route of the service, because bad input must be answered with a 4xx problem, never a 5xx.
/// Bodies are a valid base request with one field or the framing mutated, so most cases get past the JSON reader to the validators.
/// No case is expensive should it turn out valid: diffusion asks for at most 2 samples of 10 steps of gmm-2d, search never asks for
/// a valid exhaustive search, and admin routes never get a valid API key.
/// </summary>
public static class RequestFuzzer
{
    /// <summary>The service's default Limits:MaxRequestBodyBytes; over-body-limit cases are just above it.</summary>
    public const int BodyLimit = 2 * 1024 * 1024;

    public const string UnknownRoute = "(unknown route)";

    public const string BadJson = "bad-json", WrongType = "wrong-type", NullValue = "null-value", NonFinite = "non-finite",
        HugeNumber = "huge-number", NonPositive = "non-positive", EmptyValue = "empty-value", HugeString = "huge-string",
        OverBodyLimit = "over-body-limit", InvalidUtf8 = "invalid-utf8", DeepNesting = "deep-nesting", UnknownName = "unknown-name",
        PathTraversal = "path-traversal", WrongContentType = "wrong-content-type", MissingBody = "missing-body", BadQuery = "bad-query",
        AdminKey = "admin-key", UnknownRouteCategory = "unknown-route", WrongMethod = "wrong-method";

    public static readonly IReadOnlyList<string> Categories =
    [
        BadJson, WrongType, NullValue, NonFinite, HugeNumber, NonPositive, EmptyValue, HugeString, OverBodyLimit, InvalidUtf8,
        DeepNesting, UnknownName, PathTraversal, WrongContentType, MissingBody, BadQuery, AdminKey, UnknownRouteCategory, WrongMethod,
    ];

    /// <summary>The category of <see cref="CodePointSweep"/>'s cases.</summary>
    public const string CodePoints = "code-points";

    public static IReadOnlyList<string> Routes { get; } = [.. FuzzTargets.All.Select(t => t.Route)];

    /// <summary>
    /// Every code point into the first text field of every public text route: the whole BMP in runs of
    /// <paramref name="perRequest"/> consecutive code points (the routes taking turns; surrogates as lone <c>\uD8xx</c>
    /// escapes), then astral characters and the 66 noncharacters (U+FDD0–U+FDEF and U+xFFFE, U+xFFFF of every plane),
    /// each inside words and alone. Deterministic; about 66,000 / <paramref name="perRequest"/> + 150 cases.
    /// </summary>
    public static IEnumerable<FuzzCase> CodePointSweep(int perRequest = 256)
    {
        var targets = FuzzTargets.All.Where(t => t.Kind == TargetKind.JsonBody && t.Fields.Any(f => f.Kind == FieldKind.Text)).ToArray();
        var texts = new List<string>();
        for (var start = 0; start <= 0xFFFF; start += perRequest)
            texts.Add(string.Concat(Enumerable.Range(start, Math.Min(perRequest, 0x10000 - start)).Select(cp => $"\\u{cp:x4}")));
        int[] astral = [0x10000, 0x1F600, 0x1F1EB, 0x1D11E, 0x20000, 0x2A6D6, 0xE0001, 0xE007F, 0xF0000, 0x10FFFD];
        var nonCharacters = Enumerable.Range(0xFDD0, 32).Concat(Enumerable.Range(0, 17).SelectMany(plane => (int[])[plane * 0x10000 + 0xFFFE, plane * 0x10000 + 0xFFFF]));
        foreach (var cp in astral.Concat(nonCharacters))
        {
            var escaped = string.Concat(char.ConvertFromUtf32(cp).Select(unit => $"\\u{(int)unit:x4}"));
            texts.Add($"word{escaped} other");
            texts.Add(escaped);
        }
        for (var i = 0; i < texts.Count; i++)
        {
            var target = targets[i % targets.Length];
            yield return FuzzCaseBuilder.WithText(target, texts[i]) with { Route = target.Route };
        }
    }

    /// <summary>True for the routes that need an admin key: the fuzzer never sends a valid one, so they must never answer 2xx.</summary>
    public static bool IsAdminRoute(string route) => FuzzTargets.All.Any(t => t.Route == route && t.Kind == TargetKind.Admin);

    /// <summary>
    /// <paramref name="count"/> cases from <paramref name="seed"/>. Cases come in rounds, each a shuffle of every (route, category)
    /// pair that applies, so any prefix of one round's length covers every route and category.
    /// </summary>
    public static IEnumerable<FuzzCase> Generate(int seed, int count)
    {
        var random = new Random(seed);
        var pairs = FuzzTargets.All.SelectMany(t => t.Categories.Select(category => (Target: t, Category: category))).ToArray();
        var produced = 0;
        while (produced < count)
        {
            random.Shuffle(pairs);
            foreach (var (target, category) in pairs)
            {
                if (produced++ == count)
                    yield break;
                yield return FuzzCaseBuilder.Build(target, category, random) with { Route = target.Route };
            }
        }
    }
}

enum TargetKind { JsonBody, Stream, Get, Admin, Unknown }

/// <summary>What a body field holds, which decides the values each category puts there.</summary>
enum FieldKind { Text, Choice, Name, Number, Flag, TextList, PairList, Object }

sealed record FuzzField(FieldKind Kind, object[] Path);

sealed record FuzzTarget(
    string Route, TargetKind Kind, HttpMethod Method, string Path, Func<Random, JsonObject>? Base, FuzzField[] Fields, string[] Categories);

/// <summary>Every route of the service with its valid base request and the categories that apply to it.</summary>
static class FuzzTargets
{
    static readonly string[] BodyCategories =
    [
        RequestFuzzer.BadJson, RequestFuzzer.WrongType, RequestFuzzer.NullValue, RequestFuzzer.NonFinite, RequestFuzzer.HugeNumber,
        RequestFuzzer.EmptyValue, RequestFuzzer.HugeString, RequestFuzzer.OverBodyLimit, RequestFuzzer.InvalidUtf8, RequestFuzzer.DeepNesting,
        RequestFuzzer.UnknownName, RequestFuzzer.PathTraversal, RequestFuzzer.WrongContentType, RequestFuzzer.MissingBody, RequestFuzzer.WrongMethod,
    ];

    static readonly string[] Words =
    [
        "river", "guitar", "bank", "quickly", "the", "a", "runs", "walks", "music", "money", "deposit", "kitchen", "slowly", "jumps",
        "over", "under", "city", "train", "dog", "child", "plays", "reads", "old", "new", "green", "bright", "storm", "morning",
    ];

    public static readonly FuzzTarget[] All =
    [
        Json("/embed", r => new JsonObject { ["inputs"] = Sentences(r, r.Next(1, 4)), ["normalize"] = true, ["truncate"] = false },
            F(FieldKind.TextList, "inputs"), F(FieldKind.Text, "inputs", 0), F(FieldKind.Flag, "normalize"), F(FieldKind.Flag, "truncate"),
            F(FieldKind.Name, "model")),
        Json("/v1/embeddings", r => new JsonObject { ["input"] = Sentences(r, r.Next(1, 4)), ["encoding_format"] = "float" },
            F(FieldKind.TextList, "input"), F(FieldKind.Text, "input", 0), F(FieldKind.Choice, "encoding_format"), F(FieldKind.Flag, "truncate"),
            F(FieldKind.Name, "model")),
        Json("/similarity", r => new JsonObject { ["inputs"] = new JsonObject { ["source_sentence"] = Sentence(r), ["sentences"] = Sentences(r, 4) } },
            F(FieldKind.Object, "inputs"), F(FieldKind.Text, "inputs", "source_sentence"), F(FieldKind.TextList, "inputs", "sentences"),
            F(FieldKind.Text, "inputs", "sentences", 0), F(FieldKind.Flag, "truncate"), F(FieldKind.Name, "model")),
        Json("/v1/similarity/pairs", r => new JsonObject { ["pairs"] = new JsonArray(Sentences(r, 2), Sentences(r, 2)) },
            F(FieldKind.PairList, "pairs"), F(FieldKind.TextList, "pairs", 0), F(FieldKind.Text, "pairs", 0, 1), F(FieldKind.Name, "model")),
        Json("/rerank", r => new JsonObject { ["query"] = Sentence(r), ["texts"] = Sentences(r, 8), ["raw_scores"] = false, ["return_text"] = false },
            F(FieldKind.Text, "query"), F(FieldKind.TextList, "texts"), F(FieldKind.Text, "texts", 0), F(FieldKind.Flag, "raw_scores"),
            F(FieldKind.Flag, "return_text"), F(FieldKind.Flag, "truncate"), F(FieldKind.Name, "model")),
        Json("/v1/search", r => new JsonObject { ["index"] = "verb-motion", ["query"] = Sentence(r), ["k"] = 5, ["budget"] = 20, ["method"] = "cur" },
            F(FieldKind.Name, "index"), F(FieldKind.Text, "query"), F(FieldKind.Number, "k"), F(FieldKind.Number, "budget"),
            F(FieldKind.Choice, "method"), F(FieldKind.Number, "anchors")),
        Json("/v1/diffusion/samples", r => new JsonObject
            {
                ["model"] = "gmm-2d", ["count"] = 2, ["steps"] = 10, ["trajectory"] = "even", ["process"] = "ddpm",
                ["variance"] = "analytic", ["eta"] = 0.0, ["seed"] = r.Next(1000), ["format"] = "json",
            },
            F(FieldKind.Name, "model"), F(FieldKind.Number, "count"), F(FieldKind.Number, "steps"), F(FieldKind.Choice, "trajectory"),
            F(FieldKind.Choice, "process"), F(FieldKind.Choice, "variance"), F(FieldKind.Number, "eta"), F(FieldKind.Number, "seed"),
            F(FieldKind.Choice, "format")),
        new("GET /v1/diffusion/samples/stream", TargetKind.Stream, HttpMethod.Get, "/v1/diffusion/samples/stream", null, [],
        [
            RequestFuzzer.BadQuery, RequestFuzzer.NonFinite, RequestFuzzer.HugeNumber, RequestFuzzer.NonPositive, RequestFuzzer.UnknownName,
            RequestFuzzer.PathTraversal, RequestFuzzer.InvalidUtf8, RequestFuzzer.EmptyValue, RequestFuzzer.WrongMethod,
        ]),
        Get("/v1/diffusion/models"),
        new("GET /v1/diffusion/models/{name}", TargetKind.Get, HttpMethod.Get, "/v1/diffusion/models/gmm-2d", null, [],
            [RequestFuzzer.UnknownName, RequestFuzzer.PathTraversal, RequestFuzzer.InvalidUtf8, RequestFuzzer.BadQuery, RequestFuzzer.WrongMethod]),
        Json("/v1/diagnostics/sparsity", r => new JsonObject { ["inputs"] = Sentences(r, 2), ["target"] = "embeddings", ["epsilon"] = 0.01 },
            F(FieldKind.TextList, "inputs"), F(FieldKind.Text, "inputs", 0), F(FieldKind.Choice, "target"), F(FieldKind.Number, "epsilon"),
            F(FieldKind.Name, "model")),
        Json("/v1/diagnostics/attention", r => new JsonObject { ["text"] = $"<s> x{r.Next(8)} y{r.Next(8)} x{r.Next(8)}", ["mask"] = "bidirectional" },
            F(FieldKind.Text, "text"), F(FieldKind.Choice, "mask"), F(FieldKind.Flag, "matrices"), F(FieldKind.Name, "model")),
        Json("/v1/lm/classify", r => new JsonObject
            {
                ["demonstrations"] = new JsonArray(
                    new JsonObject { ["input"] = $"x{r.Next(8)}", ["label"] = $"y{r.Next(8)}" },
                    new JsonObject { ["input"] = $"x{r.Next(8)}", ["label"] = $"y{r.Next(8)}" }),
                ["query"] = $"x{r.Next(8)}", ["method"] = "nbce", ["beta"] = 0.25, ["pooling"] = "min-entropy",
            },
            F(FieldKind.Object, "demonstrations", 0), F(FieldKind.Text, "demonstrations", 0, "input"), F(FieldKind.Text, "query"),
            F(FieldKind.Choice, "method"), F(FieldKind.Number, "beta"), F(FieldKind.Choice, "pooling"), F(FieldKind.Name, "model")),
        Get("/v1/search/indexes"),
        Get("/v1/models"),
        Get("/healthz"),
        Get("/readyz"),
        Get("/info"),
        Admin("POST /v1/indexes", HttpMethod.Post, "/v1/indexes", r => new JsonObject
        {
            ["name"] = "fuzz-index", ["items"] = new JsonArray(new JsonObject { ["id"] = "fuzz-1", ["text"] = Sentence(r) }),
            ["anchor_queries"] = Sentences(r, 1), ["dtype"] = "float32",
        }),
        Admin("GET /v1/indexes", HttpMethod.Get, "/v1/indexes", null),
        Admin("GET /v1/indexes/{name}", HttpMethod.Get, "/v1/indexes/verb-motion", null),
        Admin("POST /v1/indexes/{name}/items", HttpMethod.Post, "/v1/indexes/verb-motion/items", r => new JsonObject
        {
            ["items"] = new JsonArray(new JsonObject { ["id"] = "fuzz-1", ["text"] = Sentence(r) }),
        }),
        Admin("DELETE /v1/indexes/{name}/items/{id}", HttpMethod.Delete, "/v1/indexes/verb-motion/items/fuzz-1", null),
        Admin("POST /v1/indexes/{name}/reload", HttpMethod.Post, "/v1/indexes/verb-motion/reload", null),
        Admin("DELETE /v1/indexes/{name}", HttpMethod.Delete, "/v1/indexes/verb-motion", null),
        new(RequestFuzzer.UnknownRoute, TargetKind.Unknown, HttpMethod.Get, "/", null, [], [RequestFuzzer.UnknownRouteCategory]),
    ];

    static FuzzField F(FieldKind kind, params object[] path) => new(kind, path);

    static FuzzTarget Json(string path, Func<Random, JsonObject> body, params FuzzField[] fields) => new(
        $"POST {path}", TargetKind.JsonBody, HttpMethod.Post, path, body, fields,
        fields.Any(f => f.Kind == FieldKind.Number) ? [.. BodyCategories, RequestFuzzer.NonPositive] : BodyCategories);

    static FuzzTarget Get(string path) =>
        new($"GET {path}", TargetKind.Get, HttpMethod.Get, path, null, [], [RequestFuzzer.BadQuery, RequestFuzzer.WrongMethod]);

    static FuzzTarget Admin(string route, HttpMethod method, string path, Func<Random, JsonObject>? body)
    {
        List<string> categories = [RequestFuzzer.AdminKey, RequestFuzzer.WrongMethod];
        if (route.Contains("{name}"))
            categories.AddRange([RequestFuzzer.PathTraversal, RequestFuzzer.UnknownName]);
        if (body is not null)
            categories.Add(RequestFuzzer.BadJson);
        return new(route, TargetKind.Admin, method, path, body, [], [.. categories]);
    }

    static string Sentence(Random random)
    {
        var words = Enumerable.Range(0, random.Next(3, 9)).Select(_ => Words[random.Next(Words.Length)]);
        return string.Join(' ', words) + ".";
    }

    static JsonArray Sentences(Random random, int count) => [.. Enumerable.Range(0, count).Select(_ => (JsonNode?)Sentence(random))];
}

/// <summary>The values each category puts into a field, as raw JSON (or raw query text for the streaming route).</summary>
static class FuzzValues
{
    public static readonly string[] UnknownNames =
        ["no-such-model", "all-MiniLM-L6-v2-x", "GMM-2D", "gmm-2d ", " verb-motion", "minilm-cosent-ce", "all-MiniLM-L6-v2", "verb-motion-x", new('x', 5000)];

    /// <summary>Values no enumerated field accepts; "exhaustive " keeps its trailing space so it never selects an exhaustive search.</summary>
    public static readonly string[] UnknownChoices = ["no-such-value", "CUR", "Analytic", "exhaustive ", " even", "png\u0000", "fixed_small", "float64", "1"];

    public static readonly string[] TraversalNames =
    [
        "../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd", "....//....//etc/passwd", "verb-motion/../../../etc/passwd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%2F..%2Fetc%2Fpasswd", "gmm-2d\u0000../../etc/passwd", "C:\\Windows\\System32\\config",
    ];

    /// <summary>Route-parameter forms of the traversal names: raw (sent without client-side path clean-up) and URL-encoded.</summary>
    public static readonly string[] TraversalSegments =
    [
        "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%252F..%252Fetc%252Fpasswd", "%2e%2e", "..",
        "....%2F%2F....%2F%2Fetc%2Fpasswd", "..%5C..%5Cwindows%5Cwin.ini", "%c0%ae%c0%ae%2fetc%2fpasswd", "%00..%2Fetc%2Fpasswd",
        "verb-motion%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
    ];

    public static readonly string[] NonFinite = ["NaN", "Infinity", "-Infinity", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "-NaN", "+Infinity"];

    /// <summary>Too large for an int (or any count the service allows), or outside double's range.</summary>
    public static readonly string[] HugeNumbers =
    [
        "1e308", "-1e308", "1e400", "-1e400", "9223372036854775808", "-9223372036854775809", "2147483648", "2147483647", "-2147483649",
        "1e-400", "123456789012345678901234567890", "1.7976931348623157e308", "4.9e-324",
    ];

    public static readonly string[] NonPositive = ["0", "-1", "-2147483648", "-0", "-100"];

    public static readonly string[] ContentTypes =
    [
        "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=fuzz", "application/xml",
        "application/json; charset=utf-16", "application/json; charset=bogus", "application/jsonx", "json", "*/*", "text/json",
        "application/octet-stream", "application/json, text/plain",
    ];

    public static readonly string[] WrongKeys =
        ["", " ", "wrong-key", "fuzz-not-an-admin-key-0123456789", "Bearer fuzz-token", "null", "' OR 1=1 --", "key-one,key-two", new('k', 8192)];

    public static readonly byte[][] InvalidUtf8Strings =
    [
        [0x22, 0x61, 0xFF, 0x62, 0x22], [0x22, 0xC3, 0x28, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22],
        [0x22, 0xF8, 0x88, 0x80, 0x80, 0x80, 0x22], [0x22, 0x61, 0xE2, 0x82, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
        .. new[] { "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"a\\ud83d\"", "\"\\u00\"" }.Select(Encoding.ASCII.GetBytes),
    ];

    public static readonly string[] InvalidUtf8Query = ["%FF", "%C3%28", "%ED%A0%80", "%C0%AF", "a%F8%88%80%80%80", "%E2%82"];

    public static string[]? WrongTypes(FieldKind kind) => kind switch
    {
        FieldKind.Text or FieldKind.Choice or FieldKind.Name => ["42", "true", "{}", "[\"x\"]", "1.5", "[]"],
        FieldKind.Number => ["\"abc\"", "true", "{}", "[1]", "\"1.5\"", "\"\"", "\"0x10\""],
        FieldKind.Flag => ["\"yes\"", "1", "{}", "[]", "\"true\""],
        FieldKind.TextList => ["42", "{\"a\":\"b\"}", "true", "[1,2]", "[[\"x\"]]", "[{}]", "[true]"],
        FieldKind.PairList => ["\"x\"", "{}", "[\"a\",\"b\"]", "[1]", "[[1,2]]", "[{}]"],
        _ => ["\"x\"", "[\"x\"]", "1", "true"],
    };

    public static string[] Nulls(FieldKind kind) => kind switch
    {
        FieldKind.TextList => ["null", "[null]", "[null,null]"],
        FieldKind.PairList => ["null", "[null]", "[[null,null]]"],
        _ => ["null"],
    };

    public static string[]? Empty(FieldKind kind) => kind switch
    {
        FieldKind.Text or FieldKind.Choice or FieldKind.Name => ["\"\"", "\"   \"", "\"\\t\\n\""],
        FieldKind.TextList => ["[]", "[\"\"]", "[\"  \"]"],
        FieldKind.PairList => ["[]", "[[]]", "[[\"\",\"\"]]"],
        FieldKind.Object => ["{}"],
        _ => null,
    };

    /// <summary>Arrays, objects or both nested <paramref name="depth"/> deep.</summary>
    public static string Nested(int depth, int shape) => shape switch
    {
        0 => new string('[', depth) + new string(']', depth),
        1 => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth),
        _ => string.Concat(Enumerable.Repeat("[{\"a\":", depth)) + "1" + string.Concat(Enumerable.Repeat("}]", depth)),
    };

    /// <summary>A JSON string of <paramref name="length"/> ASCII characters: words and spaces, like a real (if absurd) text.</summary>
    public static byte[] LongString(int length)
    {
        var bytes = new byte[length + 2];
        var pattern = "lorem ipsum dolor sit amet "u8;
        for (var i = 0; i < length; i++)
            bytes[i + 1] = pattern[i % pattern.Length];
        bytes[0] = bytes[^1] = (byte)'"';
        return bytes;
    }

    public static T Pick<T>(this Random random, IReadOnlyList<T> values) => values[random.Next(values.Count)];
}

/// <summary>Builds one case of a category for a route: a body route mutates one field of its base request, or the framing around it.</summary>
static class FuzzCaseBuilder
{
    const string Json = "application/json";
    const string Marker = "@@fuzz-value@@";
    const string AdminKeyHeader = "X-API-Key";
    static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>();
    static readonly HttpMethod Fuzz = new("FUZZ");
    /// <summary>The start of an object whose first property name is not UTF-8.</summary>
    static readonly byte[] InvalidKey = [(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)','];
    static readonly HttpMethod[] Methods = [HttpMethod.Get, HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch, HttpMethod.Options, Fuzz];
    static readonly string[] StreamNumbers = ["count", "steps", "eta", "seed", "preview_every"];
    static readonly string[] StreamChoices = ["variance", "trajectory", "process"];
    static readonly string[] BadQueryNumbers =
        ["abc", "2.5", "0x10", "1e1", "%", "%zz", "2;drop", "--1", "[]", "{}", "true", "null", "%EF%BC%92", "1,0", "%20"];
    static readonly string[] BadQueryTails =
        ["&&&", "&=", "&count", "&a=b=c", "&count=2&count=65", "&x=" + new string('a', 4000), "&%", "&%zz=1", "&<script>=1", "&preview_every=abc"];
    static readonly string[] JunkQueries =
        ["a=%FF", "x=" + new string('a', 4000), "%", "&&&", "a=b=c", "%zz", "model=..%2F..%2Fetc%2Fpasswd", "limit=-1", "count=NaN"];
    static readonly (string Method, string Path)[] UnknownRoutes =
    [
        ("GET", "/v2/embed"), ("POST", "/embedx"), ("POST", "/embed/extra"), ("GET", "/"), ("GET", "/swagger/v2/swagger.json"), ("GET", "/.env"),
        ("GET", "/.git/config"), ("GET", "/%2e%2e/%2e%2e/etc/passwd"), ("GET", "/../../etc/passwd"), ("GET", "/v1/models/all-MiniLM-L6-v2"),
        ("GET", "/v1/models/..%2F..%2Fetc%2Fpasswd"), ("POST", "/v1/diffusion/samples/stream/extra"), ("GET", "/v1/diffusion/models/gmm-2d/extra"),
        ("GET", "/v1/search/x"), ("POST", "//embed"), ("GET", "/v1//models"), ("GET", "/v1/" + new string('a', 3000)),
        ("GET", "/" + new string('a', 9000)), ("PUT", "/v1/unknown"), ("GET", "/v1/indexes/verb-motion/items/a/b"),
    ];

    /// <summary>The route's base request (seed 0) with its first text field set to the JSON string body <paramref name="escaped"/>.</summary>
    public static FuzzCase WithText(FuzzTarget target, string escaped)
    {
        var field = target.Fields.First(f => f.Kind == FieldKind.Text);
        return new(RequestFuzzer.CodePoints, target.Method, target.Path, Splice(target.Base!(new Random(0)), field, Utf8($"\"{escaped}\"")), Json, NoHeaders);
    }

    public static FuzzCase Build(FuzzTarget target, string category, Random random) => target.Kind switch
    {
        TargetKind.JsonBody => JsonBodyCase(target, category, random),
        TargetKind.Stream => StreamCase(target, category, random),
        TargetKind.Get => GetCase(target, category, random),
        TargetKind.Admin => AdminCase(target, category, random),
        _ => UnknownRouteCase(category, random),
    };

    static FuzzCase JsonBodyCase(FuzzTarget target, string category, Random random)
    {
        var body = target.Base!(random);
        FuzzCase Send(byte[]? bytes, string? contentType = Json) => new(category, target.Method, target.Path, bytes, contentType, NoHeaders);
        FuzzCase Mutate(Func<FieldKind, IReadOnlyList<string>?> values, FieldKind? prefer = null)
        {
            var field = PickField(target, kind => values(kind) is not null, random, prefer);
            return Send(Splice(body, field, Utf8(random.Pick(values(field.Kind)!))));
        }

        return category switch
        {
            RequestFuzzer.BadJson => Send(Utf8(BrokenJson(body.ToJsonString(), random))),
            RequestFuzzer.WrongType => Mutate(FuzzValues.WrongTypes),
            RequestFuzzer.NullValue => Mutate(FuzzValues.Nulls),
            RequestFuzzer.NonFinite => Mutate(_ => FuzzValues.NonFinite, FieldKind.Number),
            RequestFuzzer.HugeNumber => Mutate(_ => FuzzValues.HugeNumbers, FieldKind.Number),
            RequestFuzzer.NonPositive when target.Path == "/v1/search" && random.Next(6) == 0 =>
                Send(Utf8(new JsonObject { ["index"] = "verb-motion", ["query"] = "anything", ["k"] = 0, ["method"] = "exhaustive" }.ToJsonString())),
            RequestFuzzer.NonPositive => Mutate(kind => kind == FieldKind.Number ? FuzzValues.NonPositive : null),
            RequestFuzzer.EmptyValue when random.Next(6) == 0 => Send(Utf8("{}")),
            RequestFuzzer.EmptyValue => Mutate(FuzzValues.Empty),
            RequestFuzzer.HugeString => Send(Splice(body, PickField(target, IsString, random), FuzzValues.LongString(random.Next(1 << 20, 3 << 20)))),
            RequestFuzzer.OverBodyLimit => Send(OverLimit(body, PickField(target, IsString, random), random)),
            RequestFuzzer.InvalidUtf8 when random.Next(5) == 0 => Send([.. InvalidKey, .. Utf8(body.ToJsonString()[1..])]),
            RequestFuzzer.InvalidUtf8 => Send(Splice(body, PickField(target, IsString, random), random.Pick(FuzzValues.InvalidUtf8Strings))),
            RequestFuzzer.DeepNesting when random.Next(4) == 0 => Send(Utf8(FuzzValues.Nested(NestingDepth(random), random.Next(3)))),
            RequestFuzzer.DeepNesting => Mutate(Always(FuzzValues.Nested(NestingDepth(random), random.Next(3)))),
            RequestFuzzer.UnknownName => Mutate(kind => kind switch
            {
                FieldKind.Name => Quoted(FuzzValues.UnknownNames),
                FieldKind.Choice => Quoted(FuzzValues.UnknownChoices),
                _ => null,
            }),
            RequestFuzzer.PathTraversal => Mutate(kind => kind == FieldKind.Name ? Quoted(FuzzValues.TraversalNames) : null),
            RequestFuzzer.WrongContentType => Send(Utf8(body.ToJsonString()), random.Next(8) == 0 ? null : random.Pick(FuzzValues.ContentTypes)),
            RequestFuzzer.MissingBody => random.Next(7) switch
            {
                0 => Send(null),
                1 => Send(null, null),
                2 => Send([]),
                3 => Send(Utf8("null")),
                4 => Send(Utf8("   ")),
                5 => Send(Utf8("\"\"")),
                _ => Send(Utf8("[]")),
            },
            _ => WrongMethodCase(target, category, random, Utf8(body.ToJsonString()), NoHeaders),
        };
    }

    static FuzzCase StreamCase(FuzzTarget target, string category, Random random)
    {
        List<(string Key, string Value)> query =
            [("model", "gmm-2d"), ("count", "2"), ("steps", "10"), ("variance", "analytic"), ("trajectory", "even"), ("seed", random.Next(1000).ToString())];
        var tail = "";
        void Set(string key, string raw)
        {
            var at = query.FindIndex(p => p.Key == key);
            if (at < 0)
                query.Add((key, raw));
            else
                query[at] = (key, raw);
        }

        switch (category)
        {
            case RequestFuzzer.BadQuery when random.Next(2) == 0:
                tail = random.Pick(BadQueryTails);
                break;
            case RequestFuzzer.BadQuery:
                Set(random.Pick(StreamNumbers), random.Pick(BadQueryNumbers));
                break;
            case RequestFuzzer.NonFinite:
                Set(random.Pick(StreamNumbers), random.Pick(["NaN", "Infinity", "-Infinity", "nan", "inf", "%2BInfinity", "-NaN"]));
                break;
            case RequestFuzzer.HugeNumber:
                Set(random.Pick(StreamNumbers), Uri.EscapeDataString(random.Pick(FuzzValues.HugeNumbers)));
                break;
            case RequestFuzzer.NonPositive:
                Set(random.Pick(["count", "steps", "preview_every"]), random.Pick(FuzzValues.NonPositive));
                break;
            case RequestFuzzer.UnknownName when random.Next(2) == 0:
                Set("model", Uri.EscapeDataString(random.Pick(FuzzValues.UnknownNames)));
                break;
            case RequestFuzzer.UnknownName:
                Set(random.Pick(StreamChoices), Uri.EscapeDataString(random.Pick(FuzzValues.UnknownChoices)));
                break;
            case RequestFuzzer.PathTraversal:
                Set("model", random.Next(2) == 0 ? Uri.EscapeDataString(random.Pick(FuzzValues.TraversalNames)) : random.Pick(FuzzValues.TraversalSegments));
                break;
            case RequestFuzzer.InvalidUtf8:
                Set(random.Pick(["model", .. StreamChoices]), random.Pick(FuzzValues.InvalidUtf8Query));
                break;
            case RequestFuzzer.EmptyValue:
                Set(random.Pick(["model", "eta", "seed", "preview_every", .. StreamChoices]), "");
                break;
        }
        var path = $"{target.Path}?{string.Join('&', query.Select(p => $"{p.Key}={p.Value}"))}{tail}";
        return category == RequestFuzzer.WrongMethod
            ? WrongMethodCase(target with { Path = path }, category, random, null, NoHeaders)
            : new(category, target.Method, path, null, null, NoHeaders);
    }

    static FuzzCase GetCase(FuzzTarget target, string category, Random random)
    {
        var parent = target.Path[..(target.Path.LastIndexOf('/') + 1)];
        var path = category switch
        {
            RequestFuzzer.BadQuery => $"{target.Path}?{random.Pick(JunkQueries)}",
            RequestFuzzer.UnknownName => parent + Uri.EscapeDataString(random.Pick(FuzzValues.UnknownNames)),
            RequestFuzzer.PathTraversal => parent + random.Pick(FuzzValues.TraversalSegments),
            RequestFuzzer.InvalidUtf8 => parent + random.Pick(FuzzValues.InvalidUtf8Query),
            _ => target.Path,
        };
        return category == RequestFuzzer.WrongMethod
            ? WrongMethodCase(target, category, random, Utf8("{}"), NoHeaders, HttpMethod.Head)
            : new(category, target.Method, path, null, null, NoHeaders);
    }

    /// <summary>Admin routes get a missing or wrong key in every case: they must answer 401 or 403 before reading the body.</summary>
    static FuzzCase AdminCase(FuzzTarget target, string category, Random random)
    {
        var headers = random.Next(4) == 0 ? NoHeaders : new Dictionary<string, string> { [AdminKeyHeader] = random.Pick(FuzzValues.WrongKeys) };
        var body = target.Base?.Invoke(random);
        var bytes = body is null ? null : Utf8(body.ToJsonString());
        var contentType = body is null ? null : Json;
        var segment = category switch
        {
            RequestFuzzer.PathTraversal => random.Pick(FuzzValues.TraversalSegments),
            RequestFuzzer.UnknownName => Uri.EscapeDataString(random.Pick(FuzzValues.UnknownNames)),
            _ => null,
        };
        var path = segment is null ? target.Path
            : target.Path.EndsWith("/fuzz-1") && random.Next(2) == 0 ? target.Path.Replace("fuzz-1", segment)
            : target.Path.Replace("verb-motion", segment);
        return category switch
        {
            RequestFuzzer.WrongMethod => WrongMethodCase(target, category, random, bytes, headers),
            RequestFuzzer.BadJson => new(category, target.Method, path, Utf8(BrokenJson(body!.ToJsonString(), random)), contentType, headers),
            _ => new(category, target.Method, path, bytes, contentType, headers),
        };
    }

    static FuzzCase UnknownRouteCase(string category, Random random)
    {
        var (method, path) = random.Pick(UnknownRoutes);
        return method == "GET"
            ? new(category, HttpMethod.Get, path, null, null, NoHeaders)
            : new(category, new HttpMethod(method), path, Utf8("{}"), Json, NoHeaders);
    }

    static FuzzCase WrongMethodCase(FuzzTarget target, string category, Random random, byte[]? body, IReadOnlyDictionary<string, string> headers,
        params HttpMethod[] extra)
    {
        HttpMethod[] others = [.. Methods.Concat(extra).Where(m => m != target.Method)];
        var method = random.Pick(others);
        return method == HttpMethod.Get || method == HttpMethod.Head || body is null
            ? new(category, method, target.Path, null, null, headers)
            : new(category, method, target.Path, body, Json, headers);
    }

    static bool IsString(FieldKind kind) => kind is FieldKind.Text or FieldKind.Choice or FieldKind.Name;

    static FuzzField PickField(FuzzTarget target, Func<FieldKind, bool> applies, Random random, FieldKind? prefer = null)
    {
        FuzzField[] fields = [.. target.Fields.Where(f => applies(f.Kind))];
        FuzzField[] preferred = [.. fields.Where(f => f.Kind == prefer)];
        return random.Pick(preferred.Length > 0 && random.Next(4) != 0 ? preferred : fields);
    }

    /// <summary>The body with <paramref name="field"/> replaced by <paramref name="raw"/> bytes, which need not be valid JSON or UTF-8.</summary>
    static byte[] Splice(JsonObject body, FuzzField field, byte[] raw)
    {
        JsonNode parent = body;
        foreach (var step in field.Path[..^1])
            parent = step is int index ? parent[index]! : parent[(string)step]!;
        if (field.Path[^1] is int last)
            parent[last] = Marker;
        else
            parent[(string)field.Path[^1]] = Marker;
        var json = Utf8(body.ToJsonString());
        var at = json.AsSpan().IndexOf(Utf8($"\"{Marker}\""));
        return [.. json.AsSpan(0, at), .. raw, .. json.AsSpan(at + Marker.Length + 2)];
    }

    /// <summary>A valid request whose body is a few bytes over <see cref="RequestFuzzer.BodyLimit"/>, padded in one string field.</summary>
    static byte[] OverLimit(JsonObject body, FuzzField field, Random random)
    {
        var withEmpty = Splice(body, field, Utf8("\"\""));
        return Splice(body, field, FuzzValues.LongString(RequestFuzzer.BodyLimit + 1 + random.Next(64) - withEmpty.Length));
    }

    /// <summary>Always invalid JSON: every variant breaks the structure, none changes a value into another valid one.</summary>
    static string BrokenJson(string json, Random random)
    {
        switch (random.Next(9))
        {
            case 0:
                return json[..random.Next(1, json.Length - 1)];
            case 1:
                return json + random.Pick(["}", "]", "x", ",", " {}", "\u0000", " garbage", "{\"a\":1}"]);
            case 2:
                return "[" + json[1..];
            case 3:
                return json[..^1] + "]";
            case 4:
                return json.Replace('"', '\'');
            case 5:
                var open = json.IndexOf('"');
                var close = json.IndexOf("\":", open + 1, StringComparison.Ordinal);
                return json[..open] + json[(open + 1)..close] + json[(close + 1)..];
            case 6:
                return json[..^1] + ",}";
            case 7:
                return "/* comment */" + json[..^1];
            default:
                var quote = json.LastIndexOf('"');
                return json[..quote] + json[(quote + 1)..];
        }
    }

    static Func<FieldKind, IReadOnlyList<string>?> Always(string value) => _ => [value];

    static int NestingDepth(Random random) => random.Pick([65, 1_000, 10_000, 10_000]);

    static string[] Quoted(IEnumerable<string> values) => [.. values.Select(v => JsonValue.Create(v).ToJsonString())];

    static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
