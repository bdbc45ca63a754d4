using StbImageWriteSharp;

namespace Service.Models.Diffusion.Serving;

/// <summary>Tiles grey images with values in [−1, 1] into one PNG, row-major, with a 2-pixel black border.</summary>
public static class ImageGrid
{
    const int Border = 2;

    /// <param name="images">[B, H·W] in [−1, 1]; values outside are clamped.</param>
    public static byte[] ToPng(ReadOnlySpan<float> images, int height, int width, int? columns = null)
    {
        var count = images.Length / (height * width);
        var cols = columns ?? (int)Math.Ceiling(Math.Sqrt(count));
        var rows = (count + cols - 1) / cols;
        var gridWidth = cols * (width + Border) + Border;
        var gridHeight = rows * (height + Border) + Border;
        var pixels = new byte[gridWidth * gridHeight]; // [H_grid, W_grid], black background
        for (var b = 0; b < count; b++)
        {
            var top = Border + b / cols * (height + Border);
            var left = Border + b % cols * (width + Border);
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var value = images[b * height * width + y * width + x];
                    pixels[(top + y) * gridWidth + left + x] = (byte)Math.Round(Math.Clamp((value + 1) * 127.5, 0, 255));
                }
            }
        }
        using var png = new MemoryStream();
        new ImageWriter().WritePng(pixels, gridWidth, gridHeight, ColorComponents.Grey, png);
        return png.ToArray();
    }
}
