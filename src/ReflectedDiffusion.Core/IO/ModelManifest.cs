using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace ReflectedDiffusion.IO;

/// <summary>
/// An integrity manifest inside a model zip: the length and SHA-256 of every other entry (weights, ONNX graphs,
/// options), written last at save and checked first at load, before any entry is deserialised. A damaged file (a
/// flipped byte, a truncation, an entry added, renamed or removed) fails with an <see cref="InvalidDataException"/>
/// naming the entry. The hash detects damage, not malice: whoever can write the file can rewrite the manifest too.
/// </summary>
public static class ModelManifest
{
    /// <summary>The manifest's own entry name.</summary>
    public const string EntryName = "ReflectedDiffusion/manifest.json";
    /// <summary>The manifest format this version writes and reads.</summary>
    public const string Format = "rdiff-manifest/1";
    /// <summary>The largest entry accepted (declared or read), in bytes.</summary>
    public const long MaxEntryBytes = 1L << 31;
    /// <summary>The most entries a model file may hold.</summary>
    public const int MaxEntries = 10_000;
    private const long MaxManifestBytes = 1 << 22;

    /// <summary>One stored entry: its name, length in bytes and SHA-256 (lower-case hex).</summary>
    public sealed record Entry(string Name, long Length, string Sha256);

    private sealed record Document(string Format, Entry[] Entries);

    /// <summary>
    /// Adds (or replaces) the manifest of the zip archive in <paramref name="zip"/>, a readable, writable and seekable
    /// stream left open; every other entry is hashed as it stands.
    /// </summary>
    public static void Add(Stream zip)
    {
        ArgumentNullException.ThrowIfNull(zip);
        var entries = new List<Entry>();
        zip.Position = 0;
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true))
            foreach (var e in archive.Entries.Where(e => e.FullName != EntryName && !IsFolder(e)).OrderBy(e => e.FullName, StringComparer.Ordinal))
            {
                using var s = e.Open();
                var (length, hash) = Hash(s, MaxEntryBytes);
                entries.Add(new Entry(e.FullName, length, hash));
            }
        zip.Position = 0;
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Update, leaveOpen: true))
        {
            archive.GetEntry(EntryName)?.Delete();
            using var s = archive.CreateEntry(EntryName).Open();
            JsonSerializer.Serialize(s, new Document(Format, [.. entries]));
        }
    }

    /// <summary>Checks the model file at <paramref name="path"/>; see <see cref="Verify(Stream, string)"/>.</summary>
    public static IReadOnlyList<Entry> Verify(string path)
    {
        using var fs = File.OpenRead(path);
        return Verify(fs, path);
    }

    /// <summary>
    /// Checks a model zip against its manifest before anything in it is used: the archive opens, no entry name leaves
    /// the archive's folder (no rooted paths, no "..", no backslashes), no entry declares more than
    /// <see cref="MaxEntryBytes"/>, every entry is listed and every listed entry is present with its length and SHA-256.
    /// Throws <see cref="InvalidDataException"/> naming the file (<paramref name="name"/>) and the entry; returns the
    /// verified entries.
    /// </summary>
    public static IReadOnlyList<Entry> Verify(Stream zip, string name = "the model file")
    {
        ArgumentNullException.ThrowIfNull(zip);
        ZipArchive archive;
        try { archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true); }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException or OverflowException)
        {
            throw Ours($"'{name}' is not a model file: not a readable zip archive ({e.Message})", e);
        }
        using (archive)
        {
            try { return VerifyEntries(archive, name); }
            catch (Exception e) when (!IsOurs(e) && e is InvalidDataException or IOException or ArgumentException or NotSupportedException or OverflowException)
            {
                throw Ours($"'{name}' is damaged: its zip directory cannot be read ({e.Message}).", e);
            }
        }
    }

    private static IReadOnlyList<Entry> VerifyEntries(ZipArchive archive, string name)
    {
        var present = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        int count = 0;
        foreach (var e in archive.Entries)
        {
            if (++count > MaxEntries) throw Damaged(name, $"more than {MaxEntries} entries");
            CheckName(name, e.FullName);
            if (e.Length < 0 || e.Length > MaxEntryBytes || e.CompressedLength < 0 || e.CompressedLength > MaxEntryBytes)
                throw Damaged(name, $"entry '{e.FullName}' declares {e.Length} bytes ({e.CompressedLength} compressed); at most {MaxEntryBytes} are allowed");
            if (IsFolder(e)) continue;
            if (!present.TryAdd(e.FullName, e)) throw Damaged(name, $"entry '{e.FullName}' appears twice");
        }
        if (!present.Remove(EntryName, out var manifestEntry))
            throw Ours($"'{name}' holds no integrity manifest ({EntryName}): it was not written by this version of ReflectedDiffusion (or was repacked). Save or train it again.");
        var listed = ReadManifest(name, manifestEntry);
        foreach (var expected in listed)
        {
            if (!present.Remove(expected.Name, out var entry)) throw Damaged(name, $"entry '{expected.Name}' listed in the manifest is missing");
            if (entry.Length != expected.Length)
                throw Damaged(name, $"entry '{expected.Name}' is {entry.Length} bytes; the manifest says {expected.Length}");
            var (length, hash) = HashEntry(name, entry, expected.Length);
            if (length != expected.Length || !string.Equals(hash, expected.Sha256, StringComparison.Ordinal))
                throw Damaged(name, $"entry '{expected.Name}' does not match its SHA-256 in the manifest (damaged or altered)");
        }
        if (present.Count > 0) throw Damaged(name, $"entry '{present.Keys.First()}' is not in the manifest");
        return listed;
    }

    private static InvalidDataException Damaged(string name, string what) => Ours($"'{name}' is damaged: {what}.");

    // Marked as ours, so that the zip library's own InvalidDataExceptions can be told apart and given the file's name.
    private static InvalidDataException Ours(string message, Exception? inner = null)
    {
        var e = new InvalidDataException(message, inner);
        e.Data[nameof(ModelManifest)] = true;
        return e;
    }

    private static bool IsOurs(Exception e) => e.Data.Contains(nameof(ModelManifest));

    private static bool IsFolder(ZipArchiveEntry e) => e.FullName.EndsWith('/') && e.Length == 0;

    // Names that could leave a target folder if extracted, or that no writer here produces.
    private static void CheckName(string file, string entry)
    {
        bool bad = entry.Length == 0 || entry.Length > 1024 || entry.StartsWith('/') || entry.Contains('\\') || entry.Contains(':') || entry.Contains('\0')
            || entry.Split('/').Any(part => part is ".." or ".");
        if (bad) throw Damaged(file, $"entry name '{Printable(entry)}' is not a plain relative path inside the archive (it could leave the target folder)");
    }

    private static string Printable(string s) => new([.. s.Take(200).Select(c => char.IsControl(c) ? '?' : c)]);

    private static List<Entry> ReadManifest(string name, ZipArchiveEntry entry)
    {
        byte[] bytes;
        try
        {
            using var s = entry.Open();
            bytes = ReadCapped(s, MaxManifestBytes);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
        {
            throw Damaged(name, $"the manifest ({EntryName}) cannot be read ({e.Message})");
        }
        Document? doc;
        try { doc = JsonSerializer.Deserialize<Document>(bytes); }
        catch (JsonException e) { throw Damaged(name, $"the manifest ({EntryName}) is not valid JSON ({e.Message})"); }
        if (doc is null || doc.Format != Format || doc.Entries is null || doc.Entries.Any(x => x is null || x.Name is null || x.Sha256 is null))
            throw Damaged(name, $"the manifest ({EntryName}) is not a {Format} manifest");
        foreach (var x in doc.Entries) CheckName(name, x.Name);
        return [.. doc.Entries];
    }

    private static (long Length, string Sha256) HashEntry(string name, ZipArchiveEntry entry, long expectedLength)
    {
        try
        {
            using var s = entry.Open();
            // One byte past the expected length is enough to see a mismatch; a stream that claims more is not read on.
            return Hash(s, expectedLength + 1);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
        {
            throw Damaged(name, $"entry '{entry.FullName}' cannot be read ({e.Message})");
        }
    }

    private static (long Length, string Sha256) Hash(Stream s, long limit)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long total = 0;
        int n;
        while (total < limit && (n = s.Read(buffer, 0, (int)System.Math.Min(buffer.Length, limit - total))) > 0)
        {
            sha.AppendData(buffer, 0, n);
            total += n;
        }
        return (total, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    private static byte[] ReadCapped(Stream s, long limit)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = s.Read(chunk, 0, chunk.Length)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > limit) throw new InvalidDataException($"longer than {limit} bytes");
        }
        return buffer.ToArray();
    }
}
