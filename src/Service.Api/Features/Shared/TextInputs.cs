using System.Text.Json;
using System.Text.Json.Serialization;

namespace Service.Api.Features.Shared;

/// <summary>One string or an array of strings, as OpenAI's and TEI's <c>input(s)</c> fields accept.</summary>
[JsonConverter(typeof(TextInputsConverter))]
public sealed record TextInputs(string?[] Items)
{
    public static implicit operator TextInputs(string[] items) => new(items);
}

internal sealed class TextInputsConverter : JsonConverter<TextInputs>
{
    public override TextInputs Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
            return new TextInputs([reader.GetString()]);
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException("Expected a string or an array of strings.");

        var items = new List<string?>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            items.Add(reader.TokenType switch
            {
                JsonTokenType.String => reader.GetString(),
                JsonTokenType.Null => null,
                _ => throw new JsonException("Expected a string."),
            });
        }
        return new TextInputs(items.ToArray());
    }

    public override void Write(Utf8JsonWriter writer, TextInputs value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value.Items, options);
}
