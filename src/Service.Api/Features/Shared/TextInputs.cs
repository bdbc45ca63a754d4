using System.Text.Json;
using System.Text.Json.Serialization;

namespace Service.Api.Features.Shared;

/// <summary>One string or an array of strings, as OpenAI's and TEI's <c>input(s)</c> fields accept.</summary>
[JsonConverter(typeof(TextInputsConverter))]
public sealed record TextInputs(string[] Items)
{
    public static implicit operator TextInputs(string[] items) => new(items);
}

internal sealed class TextInputsConverter : JsonConverter<TextInputs>
{
    public override TextInputs Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => new TextInputs([reader.GetString()!]),
        JsonTokenType.StartArray => new TextInputs(JsonSerializer.Deserialize<string[]>(ref reader, options)!),
        _ => throw new JsonException("Expected a string or an array of strings."),
    };

    public override void Write(Utf8JsonWriter writer, TextInputs value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value.Items, options);
}
