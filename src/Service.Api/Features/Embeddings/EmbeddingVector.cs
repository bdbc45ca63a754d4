using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Service.Api.Features.Embeddings;

/// <summary>An embedding as a JSON array of floats, or as OpenAI's base64 of the little-endian float32 bytes.</summary>
[JsonConverter(typeof(EmbeddingVectorConverter))]
public sealed record EmbeddingVector(float[] Values, bool AsBase64);

internal sealed class EmbeddingVectorConverter : JsonConverter<EmbeddingVector>
{
    public override EmbeddingVector Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String
            ? new EmbeddingVector(MemoryMarshal.Cast<byte, float>(reader.GetBytesFromBase64()).ToArray(), AsBase64: true)
            : new EmbeddingVector(JsonSerializer.Deserialize<float[]>(ref reader, options)!, AsBase64: false);

    public override void Write(Utf8JsonWriter writer, EmbeddingVector value, JsonSerializerOptions options)
    {
        if (value.AsBase64)
            writer.WriteBase64StringValue(MemoryMarshal.AsBytes(value.Values.AsSpan()));
        else
            JsonSerializer.Serialize(writer, value.Values, options);
    }
}
