using System.Buffers.Binary;
using System.IO.Compression;

namespace ReflectedDiffusion.Cli;

/// <summary>A minimal PNG writer (8-bit grey or RGB, no interlace) and a tiled grid of images.</summary>
internal static class Png
{
    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>Writes pixels (row-major, channels interleaved, 1 or 3 channels) to a PNG stream.</summary>
    public static void Write(Stream stream, byte[] pixels, int width, int height, int channels)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "PNG grids take 1 or 3 channels.");
        if (pixels.Length != width * height * channels) throw new ArgumentException("Pixel count does not match the size.", nameof(pixels));
        stream.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;                              // bit depth
        header[9] = (byte)(channels == 1 ? 0 : 2);  // grey or truecolour
        Chunk(stream, "IHDR", header);
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            for (int y = 0; y < height; y++)
            {
                z.WriteByte(0); // filter: none
                z.Write(pixels, y * width * channels, width * channels);
            }
        Chunk(stream, "IDAT", raw.ToArray());
        Chunk(stream, "IEND", []);
    }

    private static void Chunk(Stream stream, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        var body = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, body);
        data.CopyTo(body, 4);
        stream.Write(body);
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in body) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc ^ 0xFFFFFFFFu);
        stream.Write(word);
    }

    /// <summary>
    /// Tiles images (each channel-planar [C, H, W], values mapped by <paramref name="toByte"/>) into a grid with
    /// <paramref name="columns"/> per row, each pixel drawn as a <paramref name="scale"/> x <paramref name="scale"/> block,
    /// one-pixel gaps; written atomically.
    /// </summary>
    public static void WriteGrid(string path, IReadOnlyList<float[]> images, ImageShape shape, int columns, int scale, Func<float, byte> toByte)
    {
        int rows = (images.Count + columns - 1) / columns;
        int tileW = shape.Width * scale, tileH = shape.Height * scale, c = shape.Channels;
        int width = columns * (tileW + 1) + 1, height = rows * (tileH + 1) + 1;
        var pixels = new byte[width * height * c];
        Array.Fill(pixels, (byte)128);
        for (int i = 0; i < images.Count; i++)
        {
            int x0 = 1 + (i % columns) * (tileW + 1), y0 = 1 + (i / columns) * (tileH + 1);
            for (int y = 0; y < tileH; y++)
                for (int x = 0; x < tileW; x++)
                    for (int ch = 0; ch < c; ch++)
                        pixels[((y0 + y) * width + x0 + x) * c + ch] = toByte(images[i][(ch * shape.Height + y / scale) * shape.Width + x / scale]);
        }
        IO.AtomicFile.Write(path, s => Write(s, pixels, width, height, c));
    }
}
