using System.Globalization;
using System.Numerics.Tensors;
using Service.Models.Text.Torch;

namespace Service.Models.Text.Adapters;

/// <summary>What an adapter is and what it was trained from; <paramref name="Extra"/> carries free-form facts (objective, steps, ...).</summary>
/// <param name="Kind"><see cref="TextAdapter.BiEncoder"/> or <see cref="TextAdapter.CrossEncoder"/>.</param>
/// <param name="BaseModelSha256">SHA-256 (hex) of the base ONNX file the adapter was trained on.</param>
/// <param name="LoraRank">r; the LoRA update is scaled by <paramref name="LoraAlpha"/> / r.</param>
public sealed record TextAdapterInfo(
    string Kind,
    string BaseModel,
    string BaseModelSha256,
    int LoraRank,
    double LoraAlpha,
    IReadOnlyDictionary<string, string> Extra);

/// <summary>
/// A fine-tuning of a BERT encoder stored as a safetensors file: low-rank updates, int8 deltas or dense replacements of
/// Linear weights, and for cross-encoders a scoring head. Served by merging into ONNX Runtime initializers, so the base
/// model file is never copied or rewritten.
/// </summary>
/// <remarks>
/// <para>Tensors, by HuggingFace module path P (e.g. <c>encoder.layer.3.intermediate.dense</c>):
/// <c>P.lora_U</c> [out, r] with <c>P.lora_V</c> [r, in] — W = W₀ + (α/r) U V; or <c>P.delta_q</c> [out, in] (int8
/// codes, stored as I8) with <c>P.delta_scale</c> [out] — W = W₀ + diag(s) Q (fully fine-tuned exports, <c>text export</c>);
/// or <c>P.weight</c> [out, in] — W replaced outright; one of the three for one P. Biases are never changed. Cross-encoders
/// (and only they) carry <c>head.weight</c> [1, hidden] and <c>head.bias</c> [1]: score = head.weight · h_[CLS] + head.bias,
/// with h_[CLS] the last hidden state at position 0 (no pooler).</para>
/// <para>Metadata (<c>__metadata__</c>): <c>format</c> = <see cref="Format"/>, <c>kind</c>, <c>base_model</c>,
/// <c>base_model_sha256</c>, <c>lora_rank</c>, <c>lora_alpha</c> (invariant culture), plus every
/// <see cref="TextAdapterInfo.Extra"/> entry under its own key.</para>
/// </remarks>
public sealed class TextAdapter
{
    public const string BiEncoder = "bi-encoder";
    public const string CrossEncoder = "cross-encoder";
    public const string Format = "text-adapter/1";
    public const string HeadWeightName = "head.weight";
    public const string HeadBiasName = "head.bias";
    const string LoraUSuffix = ".lora_U";
    const string LoraVSuffix = ".lora_V";
    const string WeightSuffix = ".weight";
    const string DeltaCodesSuffix = ".delta_q";
    const string DeltaScalesSuffix = ".delta_scale";
    const float MaxDeltaCode = 127;
    static readonly string[] ReservedKeys = ["format", "kind", "base_model", "base_model_sha256", "lora_rank", "lora_alpha"];

    /// <summary>Validates names, shapes, U/V pairing, the head and the values (all finite).</summary>
    /// <exception cref="ArgumentException">The adapter is inconsistent; the message says how.</exception>
    public TextAdapter(TextAdapterInfo info, IReadOnlyDictionary<string, (float[] Data, long[] Shape)> tensors)
    {
        if (Problem(info, tensors) is { } problem)
            throw new ArgumentException(problem);
        Info = info;
        Tensors = tensors;
        if (tensors.TryGetValue(HeadWeightName, out var head))
        {
            HeadWeight = head.Data;
            HeadBias = tensors[HeadBiasName].Data[0];
        }
    }

    public TextAdapterInfo Info { get; }

    public IReadOnlyDictionary<string, (float[] Data, long[] Shape)> Tensors { get; }

    /// <summary>Cross-encoders: the head's weight [hidden]; null for bi-encoders.</summary>
    public float[]? HeadWeight { get; }

    /// <summary>Cross-encoders: the head's bias; 0 for bi-encoders.</summary>
    public float HeadBias { get; }

    /// <summary>Module paths whose Linear weight the adapter changes, in ordinal order.</summary>
    IEnumerable<string> ChangedModules => Tensors.Keys
        .Where(name => name != HeadWeightName && name != HeadBiasName && !name.EndsWith(LoraVSuffix, StringComparison.Ordinal)
            && !name.EndsWith(DeltaScalesSuffix, StringComparison.Ordinal))
        .Select(ModulePath)
        .Order(StringComparer.Ordinal);

    /// <summary>Reads and validates an adapter file.</summary>
    /// <exception cref="InvalidDataException">Not a valid adapter; the message says why (it does not repeat the path).</exception>
    public static TextAdapter Load(string path)
    {
        SafeTensorsContent content;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            content = SafeTensors.Read(stream);

        var metadata = content.Metadata;
        string Required(string key) => metadata.TryGetValue(key, out var value)
            ? value
            : throw new InvalidDataException($"The metadata has no '{key}'; the file was not written by TextAdapter.Save.");
        var format = Required("format");
        if (format != Format)
            throw new InvalidDataException($"The metadata says format '{format}'; this reader understands '{Format}'.");
        if (!int.TryParse(Required("lora_rank"), NumberStyles.None, CultureInfo.InvariantCulture, out var rank))
            throw new InvalidDataException($"'lora_rank' is '{metadata["lora_rank"]}', not a non-negative integer.");
        if (!double.TryParse(Required("lora_alpha"), NumberStyles.Float, CultureInfo.InvariantCulture, out var alpha))
            throw new InvalidDataException($"'lora_alpha' is '{metadata["lora_alpha"]}', not a number.");
        var extra = metadata.Where(m => !ReservedKeys.Contains(m.Key)).ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal);
        var info = new TextAdapterInfo(Required("kind"), Required("base_model"), Required("base_model_sha256"), rank, alpha, extra);
        try
        {
            return new TextAdapter(info, content.Tensors);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    /// <summary>Writes the adapter to a temporary file beside <paramref name="path"/>, then renames it into place; delta codes as I8, the rest as F32.</summary>
    public void Save(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var metadata = new Dictionary<string, string>(Info.Extra, StringComparer.Ordinal)
        {
            ["format"] = Format,
            ["kind"] = Info.Kind,
            ["base_model"] = Info.BaseModel,
            ["base_model_sha256"] = Info.BaseModelSha256,
            ["lora_rank"] = Info.LoraRank.ToString(CultureInfo.InvariantCulture),
            ["lora_alpha"] = Info.LoraAlpha.ToString("R", CultureInfo.InvariantCulture),
        };
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                SafeTensors.Write(stream, Tensors, metadata,
                    name => name.EndsWith(DeltaCodesSuffix, StringComparison.Ordinal) ? SafeTensors.Int8 : SafeTensors.Float32);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>
    /// The changed Linear weights as ONNX Runtime initializers: initializer name → data in the ONNX layout, which for
    /// the MatMul initializers of a PyTorch export is Wᵀ [in, out]. LoRA: W₀ᵀ + (α/r) Vᵀ Uᵀ; delta: W₀ᵀ + Qᵀ diag(s); dense:
    /// the replacement, transposed.
    /// </summary>
    /// <exception cref="InvalidDataException">A changed module is no Linear of the base model, or its shape differs.</exception>
    public IReadOnlyDictionary<string, (float[] Data, long[] Shape)> MergedInitializers(OnnxBertWeights baseWeights)
    {
        var merged = new Dictionary<string, (float[] Data, long[] Shape)>(StringComparer.Ordinal);
        foreach (var path in ChangedModules)
        {
            // Only MatMul initializers are Linear weights here; both MatMul routes store Wᵀ [in, out].
            if (!baseWeights.Sources.TryGetValue(path + WeightSuffix, out var source) || source.Route == OnnxWeightRoute.Named)
                throw new InvalidDataException($"The adapter changes '{path}', which is not a Linear layer of the base model.");
            var initializer = baseWeights.Graph.Initializers[source.InitializerName];
            int inputs = (int)initializer.Dims[0], outputs = (int)initializer.Dims[1];

            float[] data;
            if (Tensors.TryGetValue(path + WeightSuffix, out var dense))
            {
                ExpectShape(path + WeightSuffix, dense.Shape, outputs, inputs);
                data = Transpose(dense.Data, outputs, inputs);
            }
            else if (Tensors.TryGetValue(path + DeltaCodesSuffix, out var codes))
            {
                ExpectShape(path + DeltaCodesSuffix, codes.Shape, outputs, inputs);
                // Through DeltaMerged, so ONNX Runtime gets the very values TorchSharp loads.
                data = Transpose(DeltaMerged(path, Transpose(initializer.Floats!, inputs, outputs))!, outputs, inputs);
            }
            else
            {
                var (u, uShape) = Tensors[path + LoraUSuffix];
                var (v, vShape) = Tensors[path + LoraVSuffix];
                ExpectShape(path + LoraUSuffix, uShape, outputs, Info.LoraRank);
                ExpectShape(path + LoraVSuffix, vShape, Info.LoraRank, inputs);
                var scaledUt = Transpose(u, outputs, Info.LoraRank); // [r, out]
                TensorPrimitives.Multiply(scaledUt, (float)(Info.LoraAlpha / Info.LoraRank), scaledUt);
                data = (float[])initializer.Floats!.Clone();
                AddProduct(data, Transpose(v, Info.LoraRank, inputs), scaledUt, inputs, Info.LoraRank, outputs);
            }
            merged.Add(source.InitializerName, (data, initializer.Dims));
        }
        return merged;
    }

    static void ExpectShape(string name, long[] shape, int rows, int columns)
    {
        if (!shape.SequenceEqual([rows, columns]))
            throw new InvalidDataException($"'{name}' is [{string.Join(", ", shape)}]; the base model needs [{rows}, {columns}].");
    }

    /// <summary>The merged Linear weight W = W₀ + diag(s) Q [out, in] of a delta-coded module, from W₀ [out, in]; null when the module is not delta-coded.</summary>
    public float[]? DeltaMerged(string path, ReadOnlySpan<float> baseWeight)
    {
        if (!Tensors.TryGetValue(path + DeltaCodesSuffix, out var codes))
            return null;
        if (codes.Data.Length != baseWeight.Length)
            throw new InvalidDataException($"'{path}{DeltaCodesSuffix}' has {codes.Data.Length} values; the base weight has {baseWeight.Length}.");
        var scales = Tensors[path + DeltaScalesSuffix].Data;
        var columns = baseWeight.Length / scales.Length;
        var merged = baseWeight.ToArray();
        for (var o = 0; o < scales.Length; o++)
        {
            var row = merged.AsSpan(o * columns, columns);
            TensorPrimitives.MultiplyAdd(codes.Data.AsSpan(o * columns, columns), scales[o], row, row);
        }
        return merged;
    }

    /// <summary>c [m, n] += a [m, k] · b [k, n]; k is the LoRA rank (small), so each step is one row-sized multiply-add.</summary>
    static void AddProduct(float[] c, float[] a, float[] b, int m, int k, int n)
    {
        for (var i = 0; i < m; i++)
        {
            var row = c.AsSpan(i * n, n);
            for (var j = 0; j < k; j++)
                TensorPrimitives.MultiplyAdd(b.AsSpan(j * n, n), a[i * k + j], row, row);
        }
    }

    /// <summary>[rows, columns] → [columns, rows].</summary>
    static float[] Transpose(float[] data, int rows, int columns)
    {
        var transposed = new float[data.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
                transposed[c * rows + r] = data[r * columns + c];
        }
        return transposed;
    }

    static string ModulePath(string name)
    {
        foreach (var suffix in (string[])[LoraUSuffix, LoraVSuffix, WeightSuffix, DeltaCodesSuffix, DeltaScalesSuffix])
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal))
                return name[..^suffix.Length];
        }
        throw new InvalidOperationException($"'{name}' is no module tensor.");
    }

    /// <summary>The first inconsistency, or null. Shapes against the base model are checked when merging.</summary>
    static string? Problem(TextAdapterInfo info, IReadOnlyDictionary<string, (float[] Data, long[] Shape)> tensors)
    {
        if (info.Kind is not (BiEncoder or CrossEncoder))
            return $"Kind '{info.Kind}' is neither '{BiEncoder}' nor '{CrossEncoder}'.";
        if (string.IsNullOrWhiteSpace(info.BaseModel))
            return "The base model name is empty.";
        if (info.BaseModelSha256.Length != 64 || !info.BaseModelSha256.All(char.IsAsciiHexDigit))
            return $"The base model SHA-256 '{info.BaseModelSha256}' is not 64 hexadecimal digits.";
        if (info.Extra.Keys.FirstOrDefault(ReservedKeys.Contains) is { } reserved)
            return $"Extra metadata key '{reserved}' is reserved.";
        if (tensors.Count == 0)
            return "The adapter has no tensors.";

        foreach (var (name, (data, shape)) in tensors)
        {
            if (shape.Any(d => d < 0) || shape.Aggregate(1L, (n, d) => n * d) != data.Length)
                return $"'{name}' has {data.Length} values but shape [{string.Join(", ", shape)}].";
            var bad = Array.FindIndex(data, x => !float.IsFinite(x));
            if (bad >= 0)
                return $"'{name}' holds a non-finite value ({data[bad]}) at {bad}.";
            if (name is HeadWeightName or HeadBiasName)
                continue;
            if (name.EndsWith(".bias", StringComparison.Ordinal))
                return $"'{name}': adapters never change biases.";
            if (!name.EndsWith(LoraUSuffix, StringComparison.Ordinal) && !name.EndsWith(LoraVSuffix, StringComparison.Ordinal)
                && !name.EndsWith(WeightSuffix, StringComparison.Ordinal) && !name.EndsWith(DeltaCodesSuffix, StringComparison.Ordinal)
                && !name.EndsWith(DeltaScalesSuffix, StringComparison.Ordinal))
                return $"'{name}' is not a tensor name an adapter uses (<module>.lora_U, <module>.lora_V, <module>.delta_q, <module>.delta_scale, <module>.weight, head.weight, head.bias).";
            if (name.EndsWith(DeltaScalesSuffix, StringComparison.Ordinal))
            {
                if (ModulePath(name).Length == 0 || shape.Length != 1 || data.Any(x => x < 0))
                    return $"'{name}' must be a vector of non-negative scales of a named module; it is [{string.Join(", ", shape)}].";
                continue;
            }
            if (ModulePath(name).Length == 0 || shape.Length != 2)
                return $"'{name}' must be a matrix of a named module; it is [{string.Join(", ", shape)}].";
            if (name.EndsWith(DeltaCodesSuffix, StringComparison.Ordinal) && Array.FindIndex(data, x => x != MathF.Round(x) || Math.Abs(x) > MaxDeltaCode) is var code and >= 0)
                return $"'{name}' holds {data[code]} at {code}; delta codes are integers in [−{MaxDeltaCode}, {MaxDeltaCode}].";
        }

        foreach (var (name, (_, codesShape)) in tensors.Where(t => t.Key.EndsWith(DeltaCodesSuffix, StringComparison.Ordinal)))
        {
            var path = ModulePath(name);
            if (!tensors.TryGetValue(path + DeltaScalesSuffix, out var scales))
                return $"'{name}' has no '{path}{DeltaScalesSuffix}'.";
            if (tensors.ContainsKey(path + WeightSuffix) || tensors.ContainsKey(path + LoraUSuffix))
                return $"'{path}' has an int8 delta and also a LoRA update or a dense '{path}{WeightSuffix}'; keep one.";
            if (scales.Shape[0] != codesShape[0])
                return $"'{path}' has codes [{string.Join(", ", codesShape)}] but {scales.Shape[0]} scales; it needs one scale per row.";
        }
        if (tensors.Keys.FirstOrDefault(n => n.EndsWith(DeltaScalesSuffix, StringComparison.Ordinal) && !tensors.ContainsKey(ModulePath(n) + DeltaCodesSuffix)) is { } lonelyScales)
            return $"'{lonelyScales}' has no '{ModulePath(lonelyScales)}{DeltaCodesSuffix}'.";

        foreach (var (name, (_, uShape)) in tensors.Where(t => t.Key.EndsWith(LoraUSuffix, StringComparison.Ordinal)))
        {
            var path = ModulePath(name);
            if (!tensors.TryGetValue(path + LoraVSuffix, out var v))
                return $"'{name}' has no '{path}{LoraVSuffix}'.";
            if (tensors.ContainsKey(path + WeightSuffix))
                return $"'{path}' has both a LoRA update and a dense '{path}{WeightSuffix}'; keep one.";
            if (info.LoraRank < 1 || !double.IsFinite(info.LoraAlpha) || info.LoraAlpha <= 0)
                return $"LoRA tensors need a rank ≥ 1 and a finite α > 0; the metadata says rank {info.LoraRank}, α {info.LoraAlpha}.";
            if (uShape[1] != info.LoraRank || v.Shape[0] != info.LoraRank)
                return $"'{path}' has U [{string.Join(", ", uShape)}] and V [{string.Join(", ", v.Shape)}]; rank {info.LoraRank} needs U [out, {info.LoraRank}] and V [{info.LoraRank}, in].";
        }
        if (tensors.Keys.FirstOrDefault(n => n.EndsWith(LoraVSuffix, StringComparison.Ordinal) && !tensors.ContainsKey(ModulePath(n) + LoraUSuffix)) is { } lonelyV)
            return $"'{lonelyV}' has no '{ModulePath(lonelyV)}{LoraUSuffix}'.";

        var hasWeight = tensors.TryGetValue(HeadWeightName, out var headWeight);
        var hasBias = tensors.TryGetValue(HeadBiasName, out var headBias);
        if (info.Kind == BiEncoder)
            return hasWeight || hasBias ? $"A {BiEncoder} adapter has no head; remove '{HeadWeightName}' and '{HeadBiasName}'." : null;
        if (!hasWeight || !hasBias)
            return $"A {CrossEncoder} adapter needs '{HeadWeightName}' [1, hidden] and '{HeadBiasName}' [1].";
        if (headWeight.Shape is not [1, > 0])
            return $"'{HeadWeightName}' is [{string.Join(", ", headWeight.Shape)}]; it must be [1, hidden].";
        if (headBias.Shape is not [1])
            return $"'{HeadBiasName}' is [{string.Join(", ", headBias.Shape)}]; it must be [1].";
        return null;
    }
}
