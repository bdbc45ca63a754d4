using System.Buffers.Binary;
using System.CommandLine;
using System.Diagnostics;
using System.IO.Compression;
using Service.Models.Diffusion;
using Service.Models.Diffusion.Unet;
using Service.Training.Diffusion;

namespace Service.Cli.Diffusion;

/// <summary>
/// <c>diffusion preview</c>: a quick look at a trained UNet — plain DDPM ancestral sampling (σ² = β̃_{s|t}) on the even
/// trajectory τ_k = round(1 + (k−1)(N−1)/(K−1)), written as a PNG grid. A sanity check of the weights, not the
/// service's sampler (that lives in Service.Models.Diffusion).
/// </summary>
public static class PreviewCommand
{
    public static Command Create()
    {
        var weights = new Option<string>("--weights") { Description = "Backbone weights (.pt with sidecar).", DefaultValueFactory = _ => "models/diffusion/mnist-unet/unet.pt" };
        var count = new Option<int>("--count") { Description = "Images (a square grid).", DefaultValueFactory = _ => 16 };
        var steps = new Option<int>("--steps") { Description = "K, sampling steps.", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "PNG file.", DefaultValueFactory = _ => "data/diffusion/preview.png" };
        var command = new Command("preview", "Sample a PNG grid from a trained UNet with plain DDPM steps (sanity check).") { weights, count, steps, seed, output };
        command.SetAction(parse =>
        {
            Run(parse.GetValue(weights)!, parse.GetValue(count), parse.GetValue(steps), parse.GetValue(seed), parse.GetValue(output)!);
            return 0;
        });
        return command;
    }

    static void Run(string weightsPath, int count, int k, int seed, string output)
    {
        using var model = UnetEpsilonModel.Load(weightsPath);
        var schedule = model.Schedule;
        var n = schedule.Steps;
        var d = model.Dimension;
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var tau = Enumerable.Range(1, k).Select(i => k == 1 ? n : (int)Math.Round(1 + (i - 1) * (n - 1) / (double)(k - 1))).ToArray();
        var x = new float[count * d];
        for (var i = 0; i < x.Length; i++)
            x[i] = (float)Normal();
        var epsilon = new float[x.Length];
        var clock = Stopwatch.StartNew();
        var nonFinite = 0;
        for (var step = k - 1; step >= 0; step--)
        {
            var t = tau[step];
            var s = step == 0 ? 0 : tau[step - 1];
            model.Predict(x, t, epsilon, default);
            nonFinite += epsilon.Count(v => !float.IsFinite(v));
            double sqrtAt = Math.Sqrt(schedule.AlphaBar(t)), sqrtBt = Math.Sqrt(schedule.BetaBar(t));
            var lambda2 = s == 0 ? 0 : schedule.BetaTildeST(s, t);
            double sqrtAs = Math.Sqrt(schedule.AlphaBar(s)), epsCoef = Math.Sqrt(Math.Max(schedule.BetaBar(s) - lambda2, 0));
            for (var i = 0; i < x.Length; i++)
            {
                var x0 = Math.Clamp((x[i] - sqrtBt * epsilon[i]) / sqrtAt, -1, 1);
                x[i] = s == 0 ? (float)x0 : (float)(sqrtAs * x0 + epsCoef * epsilon[i] + Math.Sqrt(lambda2) * Normal());
            }
        }
        Console.WriteLine($"{count} samples, K = {k}, {clock.Elapsed.TotalSeconds:F1} s ({count / clock.Elapsed.TotalSeconds:F1} images/s), {nonFinite} non-finite ε̂ values");
        WriteGrid(output, x, count, MnistDataset.Side);
        Console.WriteLine($"Wrote {output}");
    }

    static void WriteGrid(string path, float[] images, int count, int side)
    {
        var columns = (int)Math.Ceiling(Math.Sqrt(count));
        var rows = (count + columns - 1) / columns;
        int width = columns * (side + 2), height = rows * (side + 2);
        var raw = new byte[height * (width + 1)];
        for (var k = 0; k < count; k++)
        for (var r = 0; r < side; r++)
        for (var c = 0; c < side; c++)
        {
            var y = (k / columns) * (side + 2) + 1 + r;
            var xx = (k % columns) * (side + 2) + 1 + c;
            raw[y * (width + 1) + 1 + xx] = (byte)Math.Clamp((images[k * side * side + r * side + c] + 1) * 127.5, 0, 255);
        }
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            z.Write(raw);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = File.Create(path);
        file.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth; colour type 0 (grey), default compression/filter/interlace
        Chunk(file, "IHDR", header);
        Chunk(file, "IDAT", compressed.ToArray());
        Chunk(file, "IEND", []);
    }

    static void Chunk(Stream stream, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        var typed = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, typed);
        data.CopyTo(typed, 4);
        stream.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
        stream.Write(word);
    }

    static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
