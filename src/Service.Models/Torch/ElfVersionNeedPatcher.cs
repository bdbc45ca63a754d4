using System.Buffers.Binary;
using System.Text;

namespace Service.Models.Torch;

/// <summary>Outcome of <see cref="ElfVersionNeedPatcher.MarkWeak"/>.</summary>
public enum VersionNeedPatchResult
{
    /// <summary>At least one matching entry was strong and is now weak.</summary>
    Patched,

    /// <summary>Every matching entry already carried VER_FLG_WEAK; nothing changed.</summary>
    AlreadyWeak,

    /// <summary>The file requires no such version; nothing changed.</summary>
    NotReferenced,
}

/// <summary>One Elf64_Vernaux entry of a .gnu.version_r section.</summary>
/// <param name="File">Library named by the owning Elf64_Verneed (vn_file), e.g. "libstdc++.so.6".</param>
/// <param name="Version">Required version (vna_name), e.g. "GLIBCXX_3.4.32".</param>
/// <param name="Flags">vna_flags; bit 0x2 is VER_FLG_WEAK.</param>
/// <param name="FlagsOffset">File offset of the 16-bit vna_flags field.</param>
public readonly record struct VersionNeed(string File, string Version, ushort Flags, long FlagsOffset);

/// <summary>
/// Marks a required symbol version as weak in an ELF64 little-endian shared object, so that the
/// dynamic loader accepts a host library that lacks that version instead of refusing to load.
/// </summary>
/// <remarks>
/// <para>The loader checks every version listed in .gnu.version_r (section type SHT_GNU_verneed,
/// 0x6ffffffe; sh_info = number of Verneed records, sh_link = index of the string table holding
/// the names). A missing version is fatal unless its Vernaux carries VER_FLG_WEAK (0x2), in which
/// case glibc skips it. That is safe only when no symbol bound through that version is ever
/// looked up (no relocation refers to one).</para>
/// <para>Elf64_Verneed (16 bytes): vn_version u16 @0, vn_cnt u16 @2 (number of Vernaux),
/// vn_file u32 @4 (string offset), vn_aux u32 @8 (offset of the first Vernaux from this record),
/// vn_next u32 @12 (offset of the next Verneed from this record, 0 = last).</para>
/// <para>Elf64_Vernaux (16 bytes): vna_hash u32 @0, vna_flags u16 @4, vna_other u16 @6
/// (version index), vna_name u32 @8 (string offset), vna_next u32 @12 (offset of the next Vernaux
/// from this record, 0 = last).</para>
/// </remarks>
public static class ElfVersionNeedPatcher
{
    public const ushort VerFlagWeak = 0x2;
    const uint ShtGnuVerneed = 0x6ffffffe;
    const int ElfHeaderSize = 64;
    const int SectionHeaderSize = 64;
    const int RecordSize = 16;

    static ReadOnlySpan<byte> Magic => [0x7F, (byte)'E', (byte)'L', (byte)'F'];

    /// <summary>Lists every Vernaux entry of the file's .gnu.version_r section (empty if it has none).</summary>
    /// <exception cref="InvalidDataException">Not an ELF64 little-endian file, or truncated/inconsistent.</exception>
    public static IReadOnlyList<VersionNeed> ReadVersionNeeds(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < ElfHeaderSize || !elf[..4].SequenceEqual(Magic))
            throw new InvalidDataException("Not an ELF file (missing the 0x7F 'E' 'L' 'F' magic or shorter than the 64-byte ELF64 header).");
        if (elf[4] != 2)
            throw new InvalidDataException($"Not an ELF64 file (EI_CLASS is {elf[4]}, expected 2).");
        if (elf[5] != 1)
            throw new InvalidDataException($"Not a little-endian ELF file (EI_DATA is {elf[5]}, expected 1).");

        var needs = new List<VersionNeed>();
        var shOff = BinaryPrimitives.ReadUInt64LittleEndian(elf[40..]);
        var shEntSize = BinaryPrimitives.ReadUInt16LittleEndian(elf[58..]);
        var shNum = BinaryPrimitives.ReadUInt16LittleEndian(elf[60..]);
        if (shNum == 0)
            return needs;
        if (shEntSize < SectionHeaderSize)
            throw new InvalidDataException($"ELF section header entry size {shEntSize} is smaller than {SectionHeaderSize}.");
        var table = Slice(elf, shOff, (ulong)shEntSize * shNum, "section header table");

        for (var i = 0; i < shNum; i++)
        {
            var header = table.Slice(i * shEntSize, SectionHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != ShtGnuVerneed)
                continue;

            var offset = BinaryPrimitives.ReadUInt64LittleEndian(header[24..]);
            var section = Slice(elf, offset, BinaryPrimitives.ReadUInt64LittleEndian(header[32..]), ".gnu.version_r");
            var link = BinaryPrimitives.ReadUInt32LittleEndian(header[40..]);
            var verneedCount = BinaryPrimitives.ReadUInt32LittleEndian(header[44..]);
            if (link >= shNum)
                throw new InvalidDataException($".gnu.version_r links to string table section {link}, but there are only {shNum} sections.");
            var strHeader = table.Slice((int)link * shEntSize, SectionHeaderSize);
            var strings = Slice(elf, BinaryPrimitives.ReadUInt64LittleEndian(strHeader[24..]),
                BinaryPrimitives.ReadUInt64LittleEndian(strHeader[32..]), "version string table");

            // Offsets are relative and unsigned, so following them only moves forward; Record() bounds each step.
            var need = 0L;
            for (var n = 0u; n < verneedCount; n++)
            {
                var verneed = Record(section, need, "Elf64_Verneed");
                var file = String(strings, BinaryPrimitives.ReadUInt32LittleEndian(verneed[4..]));
                var aux = need + BinaryPrimitives.ReadUInt32LittleEndian(verneed[8..]);
                var auxCount = BinaryPrimitives.ReadUInt16LittleEndian(verneed[2..]);
                for (var a = 0; a < auxCount; a++)
                {
                    var vernaux = Record(section, aux, "Elf64_Vernaux");
                    needs.Add(new VersionNeed(file, String(strings, BinaryPrimitives.ReadUInt32LittleEndian(vernaux[8..])),
                        BinaryPrimitives.ReadUInt16LittleEndian(vernaux[4..]), (long)offset + aux + 4));
                    aux += BinaryPrimitives.ReadUInt32LittleEndian(vernaux[12..]);
                }
                var next = BinaryPrimitives.ReadUInt32LittleEndian(verneed[12..]);
                if (next == 0)
                    break;
                need += next;
            }
        }
        return needs;
    }

    /// <summary>Sets VER_FLG_WEAK on every Vernaux entry named <paramref name="version"/>, in place.</summary>
    /// <exception cref="InvalidDataException">Not an ELF64 little-endian file, or truncated/inconsistent.</exception>
    public static VersionNeedPatchResult MarkWeak(Span<byte> elf, string version)
    {
        var found = false;
        var changed = false;
        foreach (var need in ReadVersionNeeds(elf))
        {
            if (need.Version != version)
                continue;
            found = true;
            if ((need.Flags & VerFlagWeak) != 0)
                continue;
            BinaryPrimitives.WriteUInt16LittleEndian(elf[(int)need.FlagsOffset..], (ushort)(need.Flags | VerFlagWeak));
            changed = true;
        }
        return changed ? VersionNeedPatchResult.Patched
            : found ? VersionNeedPatchResult.AlreadyWeak
            : VersionNeedPatchResult.NotReferenced;
    }

    static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> elf, ulong offset, ulong size, string what) =>
        offset <= (ulong)elf.Length && size <= (ulong)elf.Length - offset
            ? elf.Slice((int)offset, (int)size)
            : throw new InvalidDataException($"ELF {what} (offset {offset}, size {size}) lies beyond the end of the {elf.Length}-byte file; truncated?");

    static ReadOnlySpan<byte> Record(ReadOnlySpan<byte> section, long offset, string what) =>
        offset + RecordSize <= section.Length
            ? section.Slice((int)offset, RecordSize)
            : throw new InvalidDataException($"{what} at section offset {offset} overruns the {section.Length}-byte .gnu.version_r section.");

    static string String(ReadOnlySpan<byte> strings, uint offset)
    {
        var end = offset < strings.Length ? strings[(int)offset..].IndexOf((byte)0) : -1;
        return end >= 0
            ? Encoding.ASCII.GetString(strings.Slice((int)offset, end))
            : throw new InvalidDataException($"Version string at offset {offset} is outside the {strings.Length}-byte string table or unterminated.");
    }
}
