using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Service.Index;

/// <summary>
/// The versioned binary file of an <see cref="AnchorIndex"/>: header, anchor queries, items (ids and texts), R, and a SHA-256
/// of everything before it. The byte layout is in docs/index-format.md.
/// </summary>
/// <remarks>
/// <para>Saving writes a temporary file next to the target, flushes it to disk and renames it over the target, so a reader sees
/// the old file or the complete new one. Only live items are written: tombstones are compacted away.</para>
/// <para>Loading memory-maps the file, checks magic, version, score type, lengths and checksum, then the model hash, and copies
/// everything into managed memory (R as float32); any failure throws <see cref="AnchorIndexFormatException"/> before an index
/// exists. Texts are stored whole rather than as a hash: an index then answers searches (which need the texts for the CE calls)
/// without a second store that could drift from it, at a cost small next to R (k_q·4 bytes an item).</para>
/// <para>SHA-256 rather than a CRC: it is in the BCL (no package), hardware-accelerated, and fast next to reading R, and it also
/// serves as the file's content digest.</para>
/// </remarks>
public static class AnchorIndexFile
{
    public const uint Version = 1;
    public const int HeaderSize = 48;
    public const int ChecksumSize = SHA256.HashSizeInBytes;

    /// <summary>R starts at a multiple of this offset, so a later version can use it in place from the mapping.</summary>
    public const int ScoresAlignment = 64;

    const int HashChunk = 1 << 20;

    static ReadOnlySpan<byte> Magic => "ANNCURIX"u8;

    public static void Save(AnchorIndex index, string path)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentException.ThrowIfNullOrEmpty(path);
        EnsureLittleEndian();

        var snapshot = index.Snapshot();
        var live = Enumerable.Range(0, snapshot.Count).Where(snapshot.IsLive).ToArray();
        var info = index.Info;
        string[] strings =
        [
            info.ModelId, info.ModelHash, .. index.AnchorQueries,
            .. live.SelectMany(item => new[] { snapshot.Id(item), snapshot.Text(item) }),
        ];
        var scoresOffset = AlignScores(HeaderSize + strings.Sum(value => sizeof(uint) + (long)Encoding.UTF8.GetByteCount(value)));
        var fileLength = scoresOffset + (long)index.QueryCount * live.Length * info.StoredAs.Size() + ChecksumSize;

        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var temporary = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var writer = new HashingWriter(stream);
                Span<byte> header = stackalloc byte[HeaderSize];
                Magic.CopyTo(header);
                BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Version);
                BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)info.StoredAs);
                BinaryPrimitives.WriteInt32LittleEndian(header[16..], live.Length);
                BinaryPrimitives.WriteInt32LittleEndian(header[20..], index.QueryCount);
                BinaryPrimitives.WriteInt64LittleEndian(header[24..], info.Created.ToUnixTimeMilliseconds());
                BinaryPrimitives.WriteInt64LittleEndian(header[32..], fileLength);
                BinaryPrimitives.WriteInt64LittleEndian(header[40..], scoresOffset);
                writer.Write(header);
                foreach (var value in strings)
                    writer.WriteString(value);
                writer.Write(new byte[scoresOffset - writer.Position]);

                var compacted = live.Length != snapshot.Count ? new float[live.Length] : null;
                var half = info.StoredAs == ScoreType.Float16 ? new Half[live.Length] : null;
                for (var t = 0; t < index.QueryCount; t++)
                {
                    var row = snapshot.Scores.Row(t);
                    if (compacted is not null)
                    {
                        for (var i = 0; i < live.Length; i++)
                            compacted[i] = row[live[i]];
                        row = compacted;
                    }
                    if (half is null)
                        writer.Write(MemoryMarshal.AsBytes(row));
                    else
                    {
                        TensorPrimitives.ConvertToHalf(row, half);
                        writer.Write(MemoryMarshal.AsBytes(half.AsSpan()));
                    }
                }
                stream.Write(writer.Checksum());
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Checks, in order: header size, magic, version, score type, the file length the header announces (truncation),
    /// the checksum, then the model hash; only then parses the content.
    /// </summary>
    /// <param name="expectedModelHash">The serving cross-encoder's hash; null skips the check (inspection tools).</param>
    /// <exception cref="AnchorIndexFormatException">The file is not a valid index for this model.</exception>
    public static AnchorIndex Load(string path, string? expectedModelHash)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        EnsureLittleEndian();

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var length = file.Length;
        var header = new byte[HeaderSize];
        var headerBytes = file.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false);
        if (headerBytes < Magic.Length || !header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new AnchorIndexFormatException(path, AnchorIndexFileError.NotAnIndex, "no ANNCURIX magic at the start.");
        if (headerBytes < HeaderSize)
            throw new AnchorIndexFormatException(path, AnchorIndexFileError.Truncated, $"{length} bytes is shorter than the {HeaderSize}-byte header.");
        var version = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        if (version != Version)
            throw new AnchorIndexFormatException(path, AnchorIndexFileError.UnsupportedVersion, $"format version {version}; this build reads version {Version}.");
        var storedAs = (ScoreType)BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12));
        if (storedAs is not (ScoreType.Float32 or ScoreType.Float16))
            throw new AnchorIndexFormatException(path, AnchorIndexFileError.UnsupportedScoreType, $"score type code {(uint)storedAs}; expected 1 (float32) or 2 (float16).");
        var itemCount = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(16));
        var queryCount = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(20));
        var created = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(24));
        var announcedLength = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(32));
        var scoresOffset = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(40));
        if (length < announcedLength)
            throw new AnchorIndexFormatException(path, AnchorIndexFileError.Truncated, $"{length} bytes of the {announcedLength} the header announces.");
        if (length > announcedLength)
            throw new AnchorIndexFormatException(path, AnchorIndexFileError.TrailingData, $"{length} bytes, the header announces {announcedLength}.");

        using var mapping = MemoryMappedFile.CreateFromFile(file, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        using var view = mapping.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        var contentEnd = length - ChecksumSize;
        if (contentEnd < HeaderSize || !Checksum(view, contentEnd).AsSpan().SequenceEqual(Read<byte>(view, contentEnd, ChecksumSize)))
            throw new AnchorIndexFormatException(path, AnchorIndexFileError.ChecksumMismatch, "the SHA-256 of the content does not match the stored one; the file is corrupt.");

        // The checksum holds, so from here on an inconsistency is a writer's bug or a crafted file, not damage.
        if (itemCount < 0 || queryCount < 1 || scoresOffset % ScoresAlignment != 0
            || scoresOffset + (long)queryCount * itemCount * storedAs.Size() != contentEnd)
            throw new AnchorIndexFormatException(path, AnchorIndexFileError.Malformed, $"N = {itemCount}, k_q = {queryCount} and R at offset {scoresOffset} do not fit {length} bytes.");
        var strings = new StringReader(view, HeaderSize, scoresOffset, path);
        var modelId = strings.Next();
        var modelHash = strings.Next();
        if (expectedModelHash is not null && !string.Equals(modelHash, expectedModelHash, StringComparison.Ordinal))
            throw new AnchorIndexFormatException(path, AnchorIndexFileError.ModelMismatch, $"built with model '{modelId}' (hash {modelHash}); the serving model's hash is {expectedModelHash}.");
        var queries = new string[queryCount];
        for (var t = 0; t < queryCount; t++)
            queries[t] = strings.Next();
        var items = new IndexItem[itemCount];
        for (var i = 0; i < itemCount; i++)
            items[i] = new IndexItem(strings.Next(), strings.Next());

        var rows = new float[queryCount][];
        var rowBytes = (long)itemCount * storedAs.Size();
        for (var t = 0; t < queryCount; t++)
        {
            var offset = scoresOffset + t * rowBytes;
            rows[t] = storedAs == ScoreType.Float32 ? Read<float>(view, offset, itemCount) : new float[itemCount];
            if (storedAs == ScoreType.Float16)
                TensorPrimitives.ConvertToSingle(Read<Half>(view, offset, itemCount), rows[t]);
        }

        try
        {
            var info = new AnchorIndexInfo(modelId, modelHash, DateTimeOffset.FromUnixTimeMilliseconds(created), storedAs);
            return new AnchorIndex(info, queries, items, rows);
        }
        catch (ArgumentException e)
        {
            throw new AnchorIndexFormatException(path, AnchorIndexFileError.Malformed, e.Message, e);
        }
    }

    static long AlignScores(long offset) => (offset + ScoresAlignment - 1) / ScoresAlignment * ScoresAlignment;

    static T[] Read<T>(MemoryMappedViewAccessor view, long offset, int count) where T : unmanaged
    {
        var values = new T[count];
        view.ReadArray(offset, values, 0, count);
        return values;
    }

    static byte[] Checksum(MemoryMappedViewAccessor view, long contentEnd)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[HashChunk];
        for (long offset = 0; offset < contentEnd; offset += HashChunk)
        {
            var count = (int)Math.Min(HashChunk, contentEnd - offset);
            view.ReadArray(offset, buffer, 0, count);
            hash.AppendData(buffer, 0, count);
        }
        return hash.GetHashAndReset();
    }

    /// <summary>R goes to disk as its in-memory bytes; the format is little-endian.</summary>
    static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Index files are little-endian; this machine is big-endian.");
    }

    sealed class HashingWriter(Stream stream)
    {
        readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public long Position { get; private set; }

        public void Write(ReadOnlySpan<byte> bytes)
        {
            stream.Write(bytes);
            hash.AppendData(bytes);
            Position += bytes.Length;
        }

        public void WriteString(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            Span<byte> length = stackalloc byte[sizeof(uint)];
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
            Write(length);
            Write(bytes);
        }

        public byte[] Checksum() => hash.GetHashAndReset();
    }

    /// <summary>Length-prefixed UTF-8 strings between two offsets of the mapping.</summary>
    sealed class StringReader(MemoryMappedViewAccessor view, long position, long end, string path)
    {
        static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        public string Next()
        {
            if (position + sizeof(uint) > end)
                throw Malformed($"a string at offset {position} runs past the start of R ({end}).");
            var length = view.ReadUInt32(position);
            if (position + sizeof(uint) + length > end || length > Array.MaxLength)
                throw Malformed($"a string at offset {position} runs past the start of R ({end}).");
            var bytes = Read<byte>(view, position + sizeof(uint), (int)length);
            position += sizeof(uint) + length;
            try
            {
                return StrictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException e)
            {
                throw Malformed($"invalid UTF-8 in the string before offset {position}.", e);
            }
        }

        AnchorIndexFormatException Malformed(string detail, Exception? inner = null) =>
            new(path, AnchorIndexFileError.Malformed, detail, inner);
    }
}
