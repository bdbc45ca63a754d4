using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Service.Models.Text.Adapters;

namespace Service.Tests.TextAdapters;

public sealed class SafeTensorsTests
{
    /// <summary>A file from its parts, as another writer (e.g. the Python library) would lay it out.</summary>
    static MemoryStream File(string header, byte[] buffer, ulong? headerLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var stream = new MemoryStream();
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, headerLength ?? (ulong)json.Length);
        stream.Write(prefix);
        stream.Write(json);
        stream.Write(buffer);
        stream.Position = 0;
        return stream;
    }

    static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    [Fact]
    public void Written_files_have_the_documented_layout_and_read_back_identically()
    {
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>
        {
            ["b.matrix"] = ([1, 2, 3, 4, 5, 6], [2, 3]),
            ["a.vector"] = ([-1.5f, float.Epsilon], [2]),
            ["c.empty"] = ([], [0, 4]),
        };
        var metadata = new Dictionary<string, string> { ["kind"] = "bi-encoder", ["note"] = "ünïcode \"quoted\"" };
        using var stream = new MemoryStream();

        SafeTensors.Write(stream, tensors, metadata);

        var bytes = stream.ToArray();
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + headerLength) % 8); // the buffer starts 8-byte aligned
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var root = header.RootElement;
        Assert.Equal("F32", root.GetProperty("a.vector").GetProperty("dtype").GetString());
        Assert.Equal([0L, 8L], root.GetProperty("a.vector").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([8L, 32L], root.GetProperty("b.matrix").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([2L, 3L], root.GetProperty("b.matrix").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal("bi-encoder", root.GetProperty("__metadata__").GetProperty("kind").GetString());
        Assert.Equal(8 + headerLength + 32, bytes.Length);
        Assert.Equal(3f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + headerLength + 8 + 2 * 4)));

        stream.Position = 0;
        var read = SafeTensors.Read(stream);
        Assert.Equal(metadata.OrderBy(m => m.Key), read.Metadata.OrderBy(m => m.Key));
        Assert.Equal(tensors.Keys.Order(), read.Tensors.Keys.Order());
        foreach (var (name, (data, shape)) in tensors)
        {
            Assert.Equal(data, read.Tensors[name].Data);
            Assert.Equal(shape, read.Tensors[name].Shape);
        }
    }

    [Fact]
    public void Reads_a_foreign_file_with_any_key_order_scalars_and_no_metadata()
    {
        var header = """{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}""";

        var read = SafeTensors.Read(File(header, Floats(7, 1, 2)));

        Assert.Empty(read.Metadata);
        Assert.Equal([7f], read.Tensors["s"].Data);
        Assert.Empty(read.Tensors["s"].Shape);
        Assert.Equal([1f, 2f], read.Tensors["w"].Data);
    }

    [Fact]
    public void Float16_tensors_round_to_nearest_half_and_read_back_as_float32_beside_float32_ones()
    {
        var stream = new MemoryStream();
        float[] values = [1f, 1.0001f, -65504f, 3.14159f];
        SafeTensors.Write(stream, new Dictionary<string, (float[] Data, long[] Shape)> { ["h"] = (values, [4]), ["f"] = ([1.0001f], [1]) },
            new Dictionary<string, string>(), name => name == "h" ? SafeTensors.Float16 : SafeTensors.Float32);
        stream.Position = 0;

        var read = SafeTensors.Read(stream);

        Assert.Equal(values.Select(v => (float)(Half)v), read.Tensors["h"].Data); // 1.0001 → 1, π → 3.140625
        Assert.Equal([1f, 1f, -65504f, 3.140625f], read.Tensors["h"].Data);
        Assert.Equal([1.0001f], read.Tensors["f"].Data);
        Assert.Equal(4 * 2 + 1 * 4, (int)stream.Length - HeaderLength(stream)); // two bytes per F16 value
    }

    [Fact]
    public void Int8_tensors_take_one_byte_per_value_and_read_back_as_float32_while_non_integers_are_refused()
    {
        var stream = new MemoryStream();
        float[] values = [-128, -1, 0, 127];
        SafeTensors.Write(stream, new Dictionary<string, (float[] Data, long[] Shape)> { ["q"] = (values, [2, 2]) },
            new Dictionary<string, string>(), _ => SafeTensors.Int8);
        stream.Position = 0;

        Assert.Equal(values, SafeTensors.Read(stream).Tensors["q"].Data);
        Assert.Equal(4, (int)stream.Length - HeaderLength(stream));
        Assert.Equal(new byte[] { 0x80, 0xFF, 0x00, 0x7F }, stream.ToArray()[HeaderLength(stream)..]); // two's complement
        foreach (var bad in new[] { 0.5f, 128f, -129f })
        {
            var error = Assert.Throws<ArgumentException>(() => SafeTensors.Write(new MemoryStream(),
                new Dictionary<string, (float[] Data, long[] Shape)> { ["q"] = ([1, bad], [2]) }, new Dictionary<string, string>(), _ => SafeTensors.Int8));
            Assert.Contains("value 1 is", error.Message);
        }
    }

    static int HeaderLength(MemoryStream stream) => 8 + (int)BitConverter.ToUInt64(stream.ToArray(), 0);

    public static TheoryData<string, byte[], string> InvalidFiles => new()
    {
        { """{"x":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}""", new byte[2], "only F32, F16 and I8" },
        { """{"x":{"dtype":"I8","shape":[3],"data_offsets":[0,2]}}""", new byte[2], "(3 bytes of I8)" },
        { """{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}""", Floats(1, 2), "(4 bytes of F16)" },
        { """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}""", Floats(1, 2), "outside the 8-byte buffer" },
        { """{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", Floats(1, 2), "span 8 bytes" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", Floats(1, 2), "belong to no tensor" },
        { """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", Floats(1, 2), "overlaps" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", Floats(1, 2), "cover only the first 4" },
        { """{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", Floats(1), "non-negative integers" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""", Floats(1), "[begin, end]" },
        { """{"x":{"dtype":"F32","shape":[1]}}""", Floats(1), "no 'data_offsets'" },
        { """{"__metadata__":{"n":1}}""", [], "must be a string" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", Floats(1), "twice" },
        { """[1, 2]""", [], "must be a JSON object" },
        { """{"x": """, [], "not valid UTF-8 JSON" },
    };

    [Theory]
    [MemberData(nameof(InvalidFiles))]
    public void Invalid_files_are_refused_saying_why(string header, byte[] buffer, string reason)
    {
        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(File(header, buffer)));

        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void A_header_length_beyond_the_file_or_a_file_too_short_is_refused()
    {
        var tooLong = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(File("{}", [], headerLength: 1000)));
        var tooShort = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new MemoryStream([1, 2, 3])));

        Assert.Contains("only 2 bytes follow", tooLong.Message);
        Assert.Contains("8-byte header length", tooShort.Message);
    }
}
