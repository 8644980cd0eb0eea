namespace ReflectedDiffusion.IO;

/// <summary>
/// Whole-file writes that readers never see half done: a crash or an exception mid-write leaves the previous file
/// (or none) in place, never a truncated one.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>: the bytes go to a temporary file in the same
    /// folder (so the rename stays on one file system), are flushed to disk, and the temporary is renamed over the
    /// target. The temporary is deleted when anything fails. Creates the folder if needed.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            // After a successful rename the temporary no longer exists.
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
