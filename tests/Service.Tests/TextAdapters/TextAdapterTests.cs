using Service.Models.ModelFiles;
using Service.Models.Text.Adapters;

namespace Service.Tests.TextAdapters;

/// <summary>The adapter format on small synthetic tensors; merging into the real model is in <see cref="AdapterParityTests"/>.</summary>
public sealed class TextAdapterTests : IDisposable
{
    readonly string directory = Path.Combine(Path.GetTempPath(), $"text-adapter-tests-{Guid.NewGuid():N}");

    static TextAdapterInfo Info(string kind = TextAdapter.CrossEncoder, int rank = 2, double alpha = 4) =>
        new(kind, MiniLmPackage.ModelName, MiniLmPackage.ModelSha256, rank, alpha, new Dictionary<string, string> { ["objective"] = "CoSent", ["steps"] = "100" });

    static Dictionary<string, (float[] Data, long[] Shape)> Tensors(bool head = true)
    {
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>
        {
            ["encoder.layer.0.attention.self.query.lora_U"] = ([1, 2, 3, 4, 5, 6], [3, 2]),
            ["encoder.layer.0.attention.self.query.lora_V"] = ([1, 0, 0, 1, 1, 1, 0, 0], [2, 4]),
            ["encoder.layer.1.output.dense.weight"] = ([.. Enumerable.Range(0, 12).Select(i => (float)i)], [3, 4]),
            ["encoder.layer.2.attention.self.key.delta_q"] = ([-127, 0, 5, 127, 1, -1, 0, 0, 0, 0, 0, 0], [3, 4]),
            ["encoder.layer.2.attention.self.key.delta_scale"] = ([0.001f, 0.5f, 0], [3]),
        };
        if (head)
        {
            tensors["head.weight"] = ([0.5f, -0.25f, 1], [1, 3]);
            tensors["head.bias"] = ([0.125f], [1]);
        }
        return tensors;
    }

    public void Dispose()
    {
        if (Directory.Exists(directory))
            Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void Save_then_Load_gives_back_the_info_tensors_and_head_and_leaves_no_temporary_file()
    {
        var path = Path.Combine(directory, "nested", "adapter.safetensors");
        var original = new TextAdapter(Info(), Tensors());

        original.Save(path);
        original.Save(path); // replacing an existing file works the same way
        var loaded = TextAdapter.Load(path);

        Assert.Equal(["adapter.safetensors"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(f => Path.GetFileName(f)));
        Assert.Equal(original.Info with { Extra = null! }, loaded.Info with { Extra = null! });
        Assert.Equal(original.Info.Extra.OrderBy(e => e.Key), loaded.Info.Extra.OrderBy(e => e.Key));
        Assert.Equal(original.Tensors.Keys.Order(), loaded.Tensors.Keys.Order());
        foreach (var (name, (data, shape)) in original.Tensors)
        {
            Assert.Equal(data, loaded.Tensors[name].Data);
            Assert.Equal(shape, loaded.Tensors[name].Shape);
        }
        Assert.Equal([0.5f, -0.25f, 1], loaded.HeadWeight!);
        Assert.Equal(0.125f, loaded.HeadBias);

        var header = System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(path).AsSpan(8, (int)BitConverter.ToUInt64(File.ReadAllBytes(path), 0)));
        Assert.Contains("\"encoder.layer.2.attention.self.key.delta_q\":{\"dtype\":\"I8\"", header); // one byte per code
        Assert.Contains("\"encoder.layer.1.output.dense.weight\":{\"dtype\":\"F32\"", header);
        using var file = File.OpenRead(path);
        var metadata = SafeTensors.Read(file).Metadata;
        Assert.Equal(TextAdapter.Format, metadata["format"]);
        Assert.Equal("cross-encoder", metadata["kind"]);
        Assert.Equal("2", metadata["lora_rank"]);
        Assert.Equal("4", metadata["lora_alpha"]);
        Assert.Equal("CoSent", metadata["objective"]);
    }

    [Fact]
    public void A_bi_encoder_has_no_head()
    {
        var adapter = new TextAdapter(Info(TextAdapter.BiEncoder), Tensors(head: false));

        Assert.Null(adapter.HeadWeight);
        Assert.Equal(0f, adapter.HeadBias);
        var withHead = Assert.Throws<ArgumentException>(() => new TextAdapter(Info(TextAdapter.BiEncoder), Tensors()));
        Assert.Contains("has no head", withHead.Message);
    }

    public static TheoryData<string, string> InvalidAdapters => new()
    {
        { "kind", "neither" },
        { "sha", "64 hexadecimal digits" },
        { "reserved extra", "'lora_rank' is reserved" },
        { "U without V", "has no 'encoder.layer.0.attention.self.query.lora_V'" },
        { "V without U", "has no 'encoder.layer.0.attention.self.query.lora_U'" },
        { "rank mismatch", "rank 3 needs U [out, 3]" },
        { "dense and LoRA", "both a LoRA update and a dense" },
        { "bias", "never change biases" },
        { "unknown name", "not a tensor name an adapter uses" },
        { "data length", "has 5 values but shape [3, 2]" },
        { "not finite", "non-finite value (NaN)" },
        { "no head", "needs 'head.weight' [1, hidden] and 'head.bias' [1]" },
        { "head shape", "'head.weight' is [3]" },
        { "zero alpha", "finite α > 0" },
        { "codes without scales", "has no 'encoder.layer.2.attention.self.key.delta_scale'" },
        { "scales without codes", "has no 'encoder.layer.2.attention.self.key.delta_q'" },
        { "fractional code", "holds 0.5 at 2; delta codes are integers" },
        { "code out of range", "holds -128 at 0" },
        { "scale count", "but 2 scales; it needs one scale per row" },
        { "negative scale", "non-negative scales" },
        { "delta and dense", "an int8 delta and also" },
    };

    [Theory]
    [MemberData(nameof(InvalidAdapters))]
    public void Inconsistent_adapters_are_refused_saying_why(string defect, string reason)
    {
        var info = Info();
        var tensors = Tensors();
        const string query = "encoder.layer.0.attention.self.query";
        const string key = "encoder.layer.2.attention.self.key";
        switch (defect)
        {
            case "kind": info = info with { Kind = "tri-encoder" }; break;
            case "sha": info = info with { BaseModelSha256 = "abc" }; break;
            case "reserved extra": info = info with { Extra = new Dictionary<string, string> { ["lora_rank"] = "9" } }; break;
            case "U without V": tensors.Remove(query + ".lora_V"); break;
            case "V without U": tensors.Remove(query + ".lora_U"); break;
            case "rank mismatch": info = info with { LoraRank = 3 }; break;
            case "dense and LoRA": tensors[query + ".weight"] = (new float[12], [3, 4]); break;
            case "bias": tensors[query + ".bias"] = (new float[3], [3]); break;
            case "unknown name": tensors["encoder.layer.0.attention.self.query.scale"] = ([1], [1]); break;
            case "data length": tensors[query + ".lora_U"] = (new float[5], [3, 2]); break;
            case "not finite": tensors[query + ".lora_U"] = ([1, 2, float.NaN, 4, 5, 6], [3, 2]); break;
            case "no head": tensors.Remove("head.bias"); break;
            case "head shape": tensors["head.weight"] = ([1, 2, 3], [3]); break;
            case "zero alpha": info = info with { LoraAlpha = 0 }; break;
            case "codes without scales": tensors.Remove(key + ".delta_scale"); break;
            case "scales without codes": tensors.Remove(key + ".delta_q"); break;
            case "fractional code": tensors[key + ".delta_q"].Data[2] = 0.5f; break;
            case "code out of range": tensors[key + ".delta_q"].Data[0] = -128; break;
            case "scale count": tensors[key + ".delta_scale"] = ([1, 1], [2]); break;
            case "negative scale": tensors[key + ".delta_scale"].Data[1] = -1; break;
            case "delta and dense": tensors[key + ".weight"] = (new float[12], [3, 4]); break;
        }

        var error = Assert.Throws<ArgumentException>(() => new TextAdapter(info, tensors));

        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Load_refuses_files_that_are_not_adapters_with_InvalidDataException()
    {
        Directory.CreateDirectory(directory);
        var noMetadata = Path.Combine(directory, "plain.safetensors");
        using (var stream = File.Create(noMetadata))
            SafeTensors.Write(stream, Tensors(), new Dictionary<string, string>());
        var badKind = Path.Combine(directory, "kind.safetensors");
        using (var stream = File.Create(badKind))
        {
            SafeTensors.Write(stream, Tensors(), new Dictionary<string, string>
            {
                ["format"] = TextAdapter.Format, ["kind"] = "tri-encoder", ["base_model"] = "m", ["base_model_sha256"] = MiniLmPackage.ModelSha256,
                ["lora_rank"] = "2", ["lora_alpha"] = "4",
            });
        }

        Assert.Contains("has no 'format'", Assert.Throws<InvalidDataException>(() => TextAdapter.Load(noMetadata)).Message);
        Assert.Contains("Kind 'tri-encoder'", Assert.Throws<InvalidDataException>(() => TextAdapter.Load(badKind)).Message);
    }
}
