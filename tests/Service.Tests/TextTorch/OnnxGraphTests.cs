using Google.Protobuf;
using Service.Models.Text.Torch;

namespace Service.Tests.TextTorch;

/// <summary>The ONNX reader and the ONNX → HuggingFace weight mapping on small hand-built ModelProtos.</summary>
public sealed class OnnxGraphTests
{
    // Minimal protobuf writers for the fields the reader understands (numbers as in onnx.proto).
    static byte[] Message(Action<CodedOutputStream> write)
    {
        using var memory = new MemoryStream();
        var output = new CodedOutputStream(memory);
        write(output);
        output.Flush();
        return memory.ToArray();
    }

    static void Bytes(CodedOutputStream o, int field, byte[] value)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(value));
    }

    static void Text(CodedOutputStream o, int field, string value)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteString(value);
    }

    enum Encoding { Raw, PackedFloats, UnpackedFloats }

    static byte[] FloatTensor(string name, long[] dims, float[] values, Encoding encoding, bool packedDims = false) => Message(o =>
    {
        if (packedDims)
            Bytes(o, 1, Message(p => { foreach (var d in dims) p.WriteInt64(d); }));
        else
        {
            foreach (var d in dims)
            {
                o.WriteTag(1, WireFormat.WireType.Varint);
                o.WriteInt64(d);
            }
        }
        o.WriteTag(2, WireFormat.WireType.Varint);
        o.WriteInt32(1); // FLOAT
        Text(o, 8, name);
        switch (encoding)
        {
            case Encoding.Raw:
                var raw = new byte[values.Length * 4];
                Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
                Bytes(o, 9, raw);
                break;
            case Encoding.PackedFloats:
                Bytes(o, 4, Message(p => { foreach (var v in values) p.WriteFloat(v); }));
                break;
            case Encoding.UnpackedFloats:
                foreach (var v in values)
                {
                    o.WriteTag(4, WireFormat.WireType.Fixed32);
                    o.WriteFloat(v);
                }
                break;
        }
    });

    static byte[] Node(string name, string op, string[] inputs, string[] outputs) => Message(o =>
    {
        foreach (var i in inputs) Text(o, 1, i);
        foreach (var x in outputs) Text(o, 2, x);
        Text(o, 3, name);
        Text(o, 4, op);
        Text(o, 6, "doc strings and other fields are skipped");
    });

    static byte[] Model(IEnumerable<byte[]> nodes, IEnumerable<byte[]> initializers, string[] inputs, string[] outputs)
    {
        var graph = Message(o =>
        {
            Text(o, 2, "graph name (skipped)");
            foreach (var n in nodes) Bytes(o, 1, n);
            foreach (var t in initializers) Bytes(o, 5, t);
            foreach (var i in inputs) Bytes(o, 11, Message(v => Text(v, 1, i)));
            foreach (var x in outputs) Bytes(o, 12, Message(v => Text(v, 1, x)));
        });
        return Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.Varint);
            o.WriteInt64(7); // ir_version
            Text(o, 2, "pytorch");
            Bytes(o, 7, graph);
        });
    }

    static OnnxGraph Read(byte[] model) => OnnxGraph.Read(new MemoryStream(model));

    [Fact]
    public void Reads_raw_packed_and_unpacked_float_data_and_both_dims_encodings()
    {
        float[] values = [1.5f, -2f, 3.25f, 0f, 1e-7f, -1e6f];
        var model = Model(
            [Node("MatMul_0", "MatMul", ["x", "w"], ["y"])],
            [
                FloatTensor("raw", [2, 3], values, Encoding.Raw),
                FloatTensor("packed", [3, 2], values, Encoding.PackedFloats, packedDims: true),
                FloatTensor("unpacked", [6], values, Encoding.UnpackedFloats),
            ],
            inputs: ["x", "raw"], outputs: ["y"]);

        var graph = Read(model);

        Assert.Equal(3, graph.Initializers.Count);
        Assert.Equal([2L, 3], graph.Initializers["raw"].Dims);
        Assert.Equal([3L, 2], graph.Initializers["packed"].Dims);
        Assert.Equal([6L], graph.Initializers["unpacked"].Dims);
        foreach (var name in new[] { "raw", "packed", "unpacked" })
        {
            Assert.Equal(OnnxDataType.Float, graph.Initializers[name].DataType);
            Assert.Equal(values, graph.Initializers[name].Floats);
        }
        var node = Assert.Single(graph.Nodes);
        Assert.Equal(("MatMul_0", "MatMul"), (node.Name, node.OpType));
        Assert.Equal(["x", "w"], node.Inputs);
        Assert.Equal(["y"], node.Outputs);
        Assert.Equal(["x"], graph.Inputs); // initializers listed as inputs are dropped
        Assert.Equal(["y"], graph.Outputs);
    }

    [Fact]
    public void A_tensor_whose_data_disagrees_with_its_dims_is_refused()
    {
        var model = Model([], [FloatTensor("bad", [2, 2], [1f, 2f, 3f], Encoding.Raw)], [], []);
        Assert.Throws<InvalidDataException>(() => Read(model));
    }

    // y = x Wᵀ + b, exported as MatMul(x, Wᵀ) then Add(b, ·); W = [[1, 2, 3], [4, 5, 6]] (out 2, in 3).
    static readonly float[] StoredTransposed = [1, 4, 2, 5, 3, 6]; // Wᵀ [3, 2]

    [Fact]
    public void An_anonymous_MatMul_weight_feeding_an_Add_with_a_named_bias_becomes_that_Linear_transposed_back()
    {
        var model = Model(
            [
                Node("MatMul_1", "MatMul", ["x", "1001"], ["m"]),
                Node("Add_2", "Add", ["encoder.layer.0.attention.self.query.bias", "m"], ["y"]),
            ],
            [
                FloatTensor("1001", [3, 2], StoredTransposed, Encoding.Raw),
                FloatTensor("encoder.layer.0.attention.self.query.bias", [2], [0.5f, -0.5f], Encoding.Raw),
            ],
            ["x"], ["y"]);

        var weights = OnnxBertWeights.Map(Read(model));

        var source = weights.Sources["encoder.layer.0.attention.self.query.weight"];
        Assert.Equal(("1001", true, OnnxWeightRoute.MatMulIntoBiasAdd), (source.InitializerName, source.Transposed, source.Route));
        Assert.Equal(OnnxWeightRoute.Named, weights.Sources["encoder.layer.0.attention.self.query.bias"].Route);
        var (data, shape) = weights.Get("encoder.layer.0.attention.self.query.weight");
        Assert.Equal([2L, 3], shape);
        Assert.Equal([1f, 2, 3, 4, 5, 6], data);
        Assert.Equal(2, weights.Sources.Count);
    }

    [Fact]
    public void Without_a_bias_Add_the_module_path_in_the_node_name_is_used()
    {
        var model = Model(
            [Node("/encoder/layer.0/output/dense/MatMul", "MatMul", ["x", "onnx::MatMul_7"], ["y"])],
            [FloatTensor("onnx::MatMul_7", [3, 2], StoredTransposed, Encoding.Raw)],
            ["x"], ["y"]);

        var source = OnnxBertWeights.Map(Read(model)).Sources["encoder.layer.0.output.dense.weight"];

        Assert.Equal(OnnxWeightRoute.MatMulNodeName, source.Route);
        Assert.True(source.Transposed);
    }

    [Fact]
    public void An_unexplained_MatMul_weight_or_a_name_reached_twice_is_an_error()
    {
        var anonymous = Model(
            [Node("MatMul_1", "MatMul", ["x", "1001"], ["y"])],
            [FloatTensor("1001", [3, 2], StoredTransposed, Encoding.Raw)],
            ["x"], ["y"]);
        Assert.Throws<InvalidDataException>(() => OnnxBertWeights.Map(Read(anonymous)));

        var twice = Model(
            [
                Node("MatMul_1", "MatMul", ["x", "1001"], ["m1"]),
                Node("Add_2", "Add", ["m1", "pooler.dense.bias"], ["y1"]),
                Node("MatMul_3", "MatMul", ["x", "1002"], ["m2"]),
                Node("Add_4", "Add", ["pooler.dense.bias", "m2"], ["y2"]),
            ],
            [
                FloatTensor("1001", [3, 2], StoredTransposed, Encoding.Raw),
                FloatTensor("1002", [3, 2], StoredTransposed, Encoding.Raw),
                FloatTensor("pooler.dense.bias", [2], [0f, 0f], Encoding.Raw),
            ],
            ["x"], ["y1", "y2"]);
        var error = Assert.Throws<InvalidDataException>(() => OnnxBertWeights.Map(Read(twice)));
        Assert.Contains("pooler.dense.weight", error.Message);
    }
}
