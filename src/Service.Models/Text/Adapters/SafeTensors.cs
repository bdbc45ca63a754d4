using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Service.Models.Text.Adapters;

/// <summary>Tensors by name (row-major data, shape; float16 and int8 widened to float32 on read) and the file's string metadata.</summary>
public sealed record SafeTensorsContent(
    IReadOnlyDictionary<string, (float[] Data, long[] Shape)> Tensors,
    IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// The safetensors format (huggingface/safetensors) with float32, float16 and int8 tensors: an unsigned 64-bit little-endian header length N,
/// N bytes of UTF-8 JSON <c>{"__metadata__": {string: string}, name: {"dtype": "F32" | "F16" | "I8", "shape": [...],
/// "data_offsets": [begin, end]}, ...}</c>, then the byte buffer, each tensor's row-major little-endian values at
/// [begin, end) relative to the buffer's start.
/// </summary>
/// <remarks>
/// Reading checks what the reference implementation checks: the header fits the file and is a JSON object, every
/// tensor's byte range matches its shape, and the ranges tile the buffer exactly (no overlap, no gap, nothing after).
/// Writing pads the header with spaces so the buffer starts 8-byte aligned, and lays tensors out in name order.
/// </remarks>
public static class SafeTensors
{
    public const string Float32 = "F32";
    public const string Float16 = "F16";
    public const string Int8 = "I8";
    const string MetadataKey = "__metadata__";
    /// <summary>The reference implementation's limit; a larger header means a corrupt or hostile file.</summary>
    const long MaxHeaderBytes = 100_000_000;
    const int Alignment = 8;

    /// <summary>Reads a whole safetensors stream; it must be seekable (its length bounds the header and the buffer).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a valid F32/F16/I8 safetensors file; the message says why.</exception>
    public static SafeTensorsContent Read(Stream stream)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; this reader assumes a little-endian host.");
        var available = stream.Length - stream.Position;
        if (available < 8)
            throw new InvalidDataException($"The file has {available} bytes; a safetensors file starts with an 8-byte header length.");
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)Math.Min(MaxHeaderBytes, available - 8))
            throw new InvalidDataException($"The header length is {headerLength} bytes, but only {available - 8} bytes follow it (limit {MaxHeaderBytes}).");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var bufferLength = available - 8 - (long)headerLength;

        var entries = ParseHeader(header, bufferLength, out var metadata);
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>(StringComparer.Ordinal);
        long expectedBegin = 0;
        foreach (var entry in entries.OrderBy(e => e.Begin))
        {
            if (entry.Begin != expectedBegin)
            {
                throw new InvalidDataException(entry.Begin > expectedBegin
                    ? $"Bytes [{expectedBegin}, {entry.Begin}) of the buffer belong to no tensor (before '{entry.Name}')."
                    : $"Tensor '{entry.Name}' at [{entry.Begin}, {entry.End}) overlaps the previous tensor, which ends at {expectedBegin}.");
            }
            var data = new float[ElementCount(entry.Shape)];
            switch (entry.DType)
            {
                case Float16:
                    var half = new Half[data.Length];
                    stream.ReadExactly(MemoryMarshal.AsBytes(half.AsSpan()));
                    TensorPrimitives.ConvertToSingle(half, data);
                    break;
                case Int8:
                    var bytes = new sbyte[data.Length];
                    stream.ReadExactly(MemoryMarshal.AsBytes(bytes.AsSpan()));
                    for (var i = 0; i < data.Length; i++)
                        data[i] = bytes[i];
                    break;
                default:
                    stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
                    break;
            }
            tensors.Add(entry.Name, (data, entry.Shape));
            expectedBegin = entry.End;
        }
        if (expectedBegin != bufferLength)
            throw new InvalidDataException($"The buffer has {bufferLength} bytes, but the tensors cover only the first {expectedBegin}.");
        return new SafeTensorsContent(tensors, metadata);
    }

    /// <summary>Writes the tensors (name order) and metadata. Each tensor's data length must equal the product of its shape.</summary>
    /// <param name="dtypeOf">Each name's stored type: <see cref="Float32"/> (also when null), <see cref="Float16"/> (rounded to
    /// nearest) or <see cref="Int8"/> (the values must already be integers in [−128, 127]).</param>
    public static void Write(
        Stream stream,
        IReadOnlyDictionary<string, (float[] Data, long[] Shape)> tensors,
        IReadOnlyDictionary<string, string> metadata,
        Func<string, string>? dtypeOf = null)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; this writer assumes a little-endian host.");
        var ordered = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToArray();
        var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata.Count > 0)
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                    writer.WriteString(key, value);
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, (data, shape)) in ordered)
            {
                if (name == MetadataKey)
                    throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor.", nameof(tensors));
                if (shape.Any(d => d < 0) || ElementCount(shape) != data.Length)
                    throw new ArgumentException($"Tensor '{name}' has {data.Length} values but shape [{string.Join(", ", shape)}].", nameof(tensors));
                var dtype = dtypeOf?.Invoke(name) ?? Float32;
                if (dtype is not (Float32 or Float16 or Int8))
                    throw new ArgumentException($"Tensor '{name}': dtype '{dtype}' is none of {Float32}, {Float16}, {Int8}.", nameof(dtypeOf));
                if (dtype == Int8 && Array.FindIndex(data, x => x != MathF.Round(x) || x is < sbyte.MinValue or > sbyte.MaxValue) is var bad and >= 0)
                    throw new ArgumentException($"Tensor '{name}' is stored as {Int8}, but value {bad} is {data[bad]}, not an integer in [−128, 127].", nameof(tensors));
                writer.WriteStartObject(name);
                writer.WriteString("dtype", dtype);
                writer.WriteStartArray("shape");
                foreach (var dimension in shape)
                    writer.WriteNumberValue(dimension);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset += (long)data.Length * Width(dtype));
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }

        var padding = (int)((Alignment - (8 + json.Length) % Alignment) % Alignment);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)(json.Length + padding));
        stream.Write(prefix);
        json.Position = 0;
        json.CopyTo(stream);
        for (var i = 0; i < padding; i++)
            stream.WriteByte((byte)' ');
        foreach (var (name, (data, _)) in ordered)
        {
            switch (dtypeOf?.Invoke(name) ?? Float32)
            {
                case Float16:
                    var half = new Half[data.Length];
                    TensorPrimitives.ConvertToHalf(data, half);
                    stream.Write(MemoryMarshal.AsBytes(half.AsSpan()));
                    break;
                case Int8:
                    var bytes = new sbyte[data.Length];
                    for (var i = 0; i < data.Length; i++)
                        bytes[i] = (sbyte)data[i];
                    stream.Write(MemoryMarshal.AsBytes(bytes.AsSpan()));
                    break;
                default:
                    stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
                    break;
            }
        }
    }

    static int Width(string dtype) => dtype switch { Float16 => 2, Int8 => 1, _ => sizeof(float) };

    sealed record Entry(string Name, long[] Shape, long Begin, long End, string DType);

    static List<Entry> ParseHeader(byte[] header, long bufferLength, out IReadOnlyDictionary<string, string> metadata)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The header is not valid UTF-8 JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"The header must be a JSON object; it is {document.RootElement.ValueKind}.");
            var entries = new List<Entry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            var meta = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                    throw new InvalidDataException($"The header names '{property.Name}' twice.");
                if (property.Name == MetadataKey)
                    ReadMetadata(property.Value, meta);
                else
                    entries.Add(ReadEntry(property.Name, property.Value, bufferLength));
            }
            metadata = meta;
            return entries;
        }
    }

    static void ReadMetadata(JsonElement element, Dictionary<string, string> metadata)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"'{MetadataKey}' must be an object of strings.");
        foreach (var entry in element.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"'{MetadataKey}.{entry.Name}' must be a string; it is {entry.Value.ValueKind}.");
            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
                throw new InvalidDataException($"'{MetadataKey}' names '{entry.Name}' twice.");
        }
    }

    static Entry ReadEntry(string name, JsonElement element, long bufferLength)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"Tensor '{name}' must be described by an object with dtype, shape and data_offsets.");
        var dtype = element.TryGetProperty("dtype", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        if (dtype is not (Float32 or Float16 or Int8))
            throw new InvalidDataException($"Tensor '{name}' has dtype '{dtype ?? "(missing)"}'; only {Float32}, {Float16} and {Int8} are supported.");
        var width = Width(dtype);
        var shape = Integers(name, element, "shape");
        var offsets = Integers(name, element, "data_offsets");
        if (offsets.Length != 2)
            throw new InvalidDataException($"Tensor '{name}' must have data_offsets [begin, end]; it has {offsets.Length} numbers.");
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end || end > bufferLength)
            throw new InvalidDataException($"Tensor '{name}' has data_offsets [{begin}, {end}], outside the {bufferLength}-byte buffer.");

        long bytes;
        try
        {
            bytes = checked(ElementCount(shape) * width);
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"Tensor '{name}' has shape [{string.Join(", ", shape)}], too large to address.");
        }
        if (end - begin != bytes)
            throw new InvalidDataException($"Tensor '{name}' has shape [{string.Join(", ", shape)}] ({bytes} bytes of {dtype}), but data_offsets [{begin}, {end}] span {end - begin} bytes.");
        if (bytes / width > Array.MaxLength)
            throw new InvalidDataException($"Tensor '{name}' has {bytes / width} values, more than one array can hold.");
        return new Entry(name, shape, begin, end, dtype);
    }

    static long[] Integers(string name, JsonElement element, string field)
    {
        if (!element.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"Tensor '{name}' has no '{field}' array.");
        var values = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out values[i]) || values[i] < 0)
                throw new InvalidDataException($"Tensor '{name}': '{field}' must hold non-negative integers; item {i} is {item.GetRawText()}.");
            i++;
        }
        return values;
    }

    static long ElementCount(long[] shape) => shape.Aggregate(1L, (count, dimension) => checked(count * dimension));
}
