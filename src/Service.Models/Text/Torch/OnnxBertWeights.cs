namespace Service.Models.Text.Torch;

/// <summary>How one HuggingFace parameter was found in the ONNX graph.</summary>
public enum OnnxWeightRoute
{
    /// <summary>The initializer carries the HuggingFace name itself (biases, embeddings, LayerNorms); same layout.</summary>
    Named,

    /// <summary>An anonymous MatMul initializer [in, out] whose product feeds an Add with the named <c>X.bias</c>: it is <c>X.weight</c>ᵀ.</summary>
    MatMulIntoBiasAdd,

    /// <summary>An anonymous MatMul initializer whose node name spells the module path (<c>/encoder/layer.0/attention/self/query/MatMul</c>).</summary>
    MatMulNodeName,
}

/// <summary>Where a HuggingFace parameter lives in the ONNX file: initializer name, and whether it is stored transposed.</summary>
public sealed record OnnxWeightSource(string HfName, string InitializerName, bool Transposed, OnnxWeightRoute Route, string? NodeName);

/// <summary>
/// Maps the initializers of a PyTorch-exported BERT ONNX graph back to HuggingFace <c>BertModel</c> parameter names.
/// </summary>
/// <remarks>
/// <para>torch.onnx keeps module parameters that are used as-is under their state-dict names (embeddings,
/// LayerNorm weight/bias, Linear biases: HuggingFace's <c>Linear</c> becomes <c>MatMul(x, Wᵀ) → Add(bias, ·)</c>).
/// The constant-folded <c>Wᵀ</c> is a new, anonymous initializer (all-MiniLM-L6-v2: "927".."1004"; newer
/// exporters: "onnx::MatMul_1234") of shape [in, out].</para>
/// <para>The explicit rule for an anonymous matrix: find the MatMul node that takes it as its second input; if the
/// MatMul's only consumer is an Add whose other input is a named initializer <c>P.bias</c>, the matrix is
/// <c>P.weight</c>ᵀ; otherwise, if the node is named like <c>/P/with/slashes/MatMul</c>, it is
/// <c>P.with.slashes.weight</c>ᵀ; otherwise it is an error. A HuggingFace name reached twice is an error.
/// The attention score and context MatMuls take activations, not initializers, and are not considered.</para>
/// </remarks>
public sealed class OnnxBertWeights
{
    readonly OnnxGraph graph;
    readonly Dictionary<string, OnnxWeightSource> sources;

    OnnxBertWeights(OnnxGraph graph, Dictionary<string, OnnxWeightSource> sources)
    {
        this.graph = graph;
        this.sources = sources;
    }

    /// <summary>Every float parameter found, by HuggingFace name (includes e.g. the pooler, which the encoder does not use).</summary>
    public IReadOnlyDictionary<string, OnnxWeightSource> Sources => sources;

    public OnnxGraph Graph => graph;

    public static OnnxBertWeights Map(OnnxGraph graph)
    {
        var sources = new Dictionary<string, OnnxWeightSource>(StringComparer.Ordinal);
        void Add(OnnxWeightSource source)
        {
            if (!sources.TryAdd(source.HfName, source))
            {
                throw new InvalidDataException(
                    $"'{source.HfName}' is reached twice: from initializer '{sources[source.HfName].InitializerName}' and from '{source.InitializerName}'.");
            }
        }

        var consumers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            foreach (var input in node.Inputs)
            {
                if (!consumers.TryGetValue(input, out var list))
                    consumers[input] = list = [];
                list.Add(node);
            }
        }

        var matMulWeights = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            if (node.OpType != "MatMul" || node.Inputs.Count != 2
                || !graph.Initializers.TryGetValue(node.Inputs[1], out var matrix) || matrix.DataType != OnnxDataType.Float || matrix.Dims.Length != 2)
                continue;
            if (!matMulWeights.Add(matrix.Name))
                throw new InvalidDataException($"Initializer '{matrix.Name}' is the weight of more than one MatMul; it cannot be one Linear.");
            Add(MapMatMul(graph, node, matrix, consumers));
        }

        foreach (var tensor in graph.Initializers.Values)
        {
            if (tensor.DataType == OnnxDataType.Float && !matMulWeights.Contains(tensor.Name) && IsParameterName(tensor.Name))
                Add(new OnnxWeightSource(tensor.Name, tensor.Name, Transposed: false, OnnxWeightRoute.Named, NodeName: null));
        }
        return new OnnxBertWeights(graph, sources);
    }

    static OnnxWeightSource MapMatMul(OnnxGraph graph, OnnxNode matMul, OnnxTensor matrix, Dictionary<string, List<OnnxNode>> consumers)
    {
        if (consumers.TryGetValue(matMul.Outputs[0], out var next) && next is [{ OpType: "Add" } add] && add.Inputs.Count == 2)
        {
            var bias = add.Inputs[0] == matMul.Outputs[0] ? add.Inputs[1] : add.Inputs[0];
            if (bias.EndsWith(".bias", StringComparison.Ordinal)
                && graph.Initializers.TryGetValue(bias, out var biasTensor)
                && biasTensor.Dims.SequenceEqual([matrix.Dims[1]]))
            {
                var module = bias[..^".bias".Length];
                return new OnnxWeightSource(module + ".weight", matrix.Name, Transposed: true, OnnxWeightRoute.MatMulIntoBiasAdd, matMul.Name);
            }
        }

        // e.g. "/encoder/layer.0/attention/self/query/MatMul" (torch ≥ 1.13 names nodes by module path).
        if (matMul.Name.StartsWith('/') && matMul.Name.EndsWith("/MatMul", StringComparison.Ordinal))
        {
            var module = matMul.Name[1..^"/MatMul".Length].Replace('/', '.');
            if (module.Length > 0)
                return new OnnxWeightSource(module + ".weight", matrix.Name, Transposed: true, OnnxWeightRoute.MatMulNodeName, matMul.Name);
        }

        throw new InvalidDataException(
            $"MatMul '{matMul.Name}' takes initializer '{matrix.Name}' {Shape(matrix.Dims)}, but neither feeds an Add with a named bias nor has a module-path node name.");
    }

    static bool IsParameterName(string name) =>
        name.EndsWith(".weight", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal);

    static string Shape(long[] dims) => $"[{string.Join(", ", dims)}]";

    /// <summary>The parameter in PyTorch layout (Linear weights [out, in]) and its shape.</summary>
    public (float[] Data, long[] Shape) Get(string hfName)
    {
        if (!sources.TryGetValue(hfName, out var source))
            throw new KeyNotFoundException($"The ONNX graph has no parameter '{hfName}'.");
        var tensor = graph.Initializers[source.InitializerName];
        var data = tensor.Floats!;
        if (!source.Transposed)
            return (data, tensor.Dims);

        long rows = tensor.Dims[0], columns = tensor.Dims[1];
        var transposed = new float[data.Length];
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < columns; c++)
                transposed[c * rows + r] = data[r * columns + c];
        }
        return (transposed, [columns, rows]);
    }
}
