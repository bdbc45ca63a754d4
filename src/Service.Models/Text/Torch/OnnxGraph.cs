using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Service.Models.Text.Torch;

/// <summary>ONNX <c>TensorProto.DataType</c> values this reader knows by name (others keep their number).</summary>
public enum OnnxDataType
{
    Undefined = 0,
    Float = 1,
    Int32 = 6,
    Int64 = 7,
}

/// <summary>
/// One graph initializer. <see cref="Floats"/> is set for FLOAT tensors and <see cref="Int64s"/> for INT64 ones
/// (row-major, <see cref="Dims"/> order); other element types keep only their name, dims and type.
/// </summary>
public sealed record OnnxTensor(string Name, long[] Dims, OnnxDataType DataType, float[]? Floats, long[]? Int64s)
{
    public long ElementCount => Dims.Aggregate(1L, (a, d) => a * d);
}

/// <summary>One graph node: only what weight mapping needs (no attributes).</summary>
public sealed record OnnxNode(string Name, string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);

/// <summary>
/// The parts of an ONNX <c>ModelProto</c> needed to lift weights out of an exported encoder: the main graph's
/// initializers and nodes and the names of its inputs and outputs. Read with a small hand-written decoder on
/// <see cref="CodedInputStream"/> rather than generated onnx.proto classes; every other field is skipped.
/// </summary>
/// <remarks>
/// Field numbers (onnx/onnx.proto, IR version 3 onwards; proto2, so repeated scalars may come packed or not):
/// <list type="bullet">
/// <item>ModelProto: graph = 7.</item>
/// <item>GraphProto: node = 1, initializer = 5, input = 11, output = 12 (ValueInfoProto name = 1).</item>
/// <item>NodeProto: input = 1, output = 2, name = 3, op_type = 4.</item>
/// <item>TensorProto: dims = 1, data_type = 2, float_data = 4 (packed), int64_data = 7 (packed), name = 8,
/// raw_data = 9 (little-endian bytes), data_location = 14 (1 = EXTERNAL, refused).</item>
/// </list>
/// </remarks>
public sealed class OnnxGraph
{
    const int ModelGraph = 7;
    const int GraphNode = 1, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;
    const int ValueInfoName = 1;
    const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4;
    const int TensorDims = 1, TensorDataType = 2, TensorFloatData = 4, TensorInt64Data = 7, TensorName = 8, TensorRawData = 9, TensorDataLocation = 14;

    OnnxGraph(Dictionary<string, OnnxTensor> initializers, List<OnnxNode> nodes, List<string> inputs, List<string> outputs)
    {
        Initializers = initializers;
        Nodes = nodes;
        Inputs = inputs;
        Outputs = outputs;
    }

    /// <summary>Initializers by name.</summary>
    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }

    /// <summary>Nodes in graph (topological) order.</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>Graph input names, initializers excluded where the exporter listed them too.</summary>
    public IReadOnlyList<string> Inputs { get; }

    public IReadOnlyList<string> Outputs { get; }

    public static OnnxGraph Read(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Read(file);
    }

    public static OnnxGraph Read(Stream stream)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("raw_data decoding assumes a little-endian host.");
        using var input = new CodedInputStream(stream, leaveOpen: true);
        OnnxGraph? graph = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == ModelGraph && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                graph = ReadGraph(input, End(input));
            else
                input.SkipLastField();
        }
        return graph ?? throw new InvalidDataException("The ONNX model has no graph (ModelProto field 7).");
    }

    // A nested message is read in place: its length prefix gives the stream position where it ends.
    static long End(CodedInputStream input) => input.ReadLength() + input.Position;

    static OnnxGraph ReadGraph(CodedInputStream input, long end)
    {
        var initializers = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        var nodes = new List<OnnxNode>();
        var inputs = new List<string>();
        var outputs = new List<string>();
        while (input.Position < end)
        {
            var tag = input.ReadTag();
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case GraphNode:
                    nodes.Add(ReadNode(input, End(input)));
                    break;
                case GraphInitializer:
                    var tensor = ReadTensor(input, End(input));
                    if (!initializers.TryAdd(tensor.Name, tensor))
                        throw new InvalidDataException($"Initializer '{tensor.Name}' appears twice.");
                    break;
                case GraphInput:
                    inputs.Add(ReadValueInfoName(input, End(input)));
                    break;
                case GraphOutput:
                    outputs.Add(ReadValueInfoName(input, End(input)));
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        inputs.RemoveAll(initializers.ContainsKey);
        return new OnnxGraph(initializers, nodes, inputs, outputs);
    }

    static string ReadValueInfoName(CodedInputStream input, long end)
    {
        var name = "";
        while (input.Position < end)
        {
            if (WireFormat.GetTagFieldNumber(input.ReadTag()) == ValueInfoName)
                name = input.ReadString();
            else
                input.SkipLastField();
        }
        return name;
    }

    static OnnxNode ReadNode(CodedInputStream input, long end)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        string name = "", opType = "";
        while (input.Position < end)
        {
            switch (WireFormat.GetTagFieldNumber(input.ReadTag()))
            {
                case NodeInput: inputs.Add(input.ReadString()); break;
                case NodeOutput: outputs.Add(input.ReadString()); break;
                case NodeName: name = input.ReadString(); break;
                case NodeOpType: opType = input.ReadString(); break;
                default: input.SkipLastField(); break;
            }
        }
        return new OnnxNode(name, opType, inputs, outputs);
    }

    static OnnxTensor ReadTensor(CodedInputStream input, long end)
    {
        var dims = new List<long>();
        var dataType = OnnxDataType.Undefined;
        var name = "";
        ByteString? raw = null;
        List<float>? floats = null;
        List<long>? int64s = null;
        while (input.Position < end)
        {
            var tag = input.ReadTag();
            var packed = WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case TensorDims:
                    ReadRepeated(input, packed, dims, static i => i.ReadInt64());
                    break;
                case TensorDataType:
                    dataType = (OnnxDataType)input.ReadInt32();
                    break;
                case TensorFloatData:
                    ReadRepeated(input, packed, floats ??= [], static i => i.ReadFloat());
                    break;
                case TensorInt64Data:
                    ReadRepeated(input, packed, int64s ??= [], static i => i.ReadInt64());
                    break;
                case TensorName:
                    name = input.ReadString();
                    break;
                case TensorRawData:
                    raw = input.ReadBytes();
                    break;
                case TensorDataLocation:
                    if (input.ReadInt32() == 1)
                        throw new NotSupportedException($"Initializer '{name}' keeps its data in an external file, which this reader does not follow.");
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        var shape = dims.ToArray();
        var count = shape.Aggregate(1L, (a, d) => a * d);
        float[]? floatData = null;
        long[]? int64Data = null;
        if (dataType == OnnxDataType.Float)
            floatData = raw is not null ? Decode<float>(raw, name, count) : Checked(floats?.ToArray() ?? [], name, count);
        else if (dataType == OnnxDataType.Int64)
            int64Data = raw is not null ? Decode<long>(raw, name, count) : Checked(int64s?.ToArray() ?? [], name, count);
        return new OnnxTensor(name, shape, dataType, floatData, int64Data);
    }

    static void ReadRepeated<T>(CodedInputStream input, bool packed, List<T> into, Func<CodedInputStream, T> read)
    {
        if (!packed)
        {
            into.Add(read(input));
            return;
        }
        var end = End(input);
        while (input.Position < end)
            into.Add(read(input));
    }

    static T[] Decode<T>(ByteString raw, string name, long count) where T : unmanaged =>
        Checked(MemoryMarshal.Cast<byte, T>(raw.Span).ToArray(), name, count, raw.Length % Marshal.SizeOf<T>() != 0);

    static T[] Checked<T>(T[] data, string name, long count, bool ragged = false) =>
        ragged || data.LongLength != count
            ? throw new InvalidDataException($"Initializer '{name}' holds {data.LongLength} elements, its dims say {count}.")
            : data;
}
