namespace ReflectedDiffusion.Testing;

/// <summary>Random damage to a file's bytes, for fuzzing model loaders: the kinds of harm disks, copies and transfers do.</summary>
internal static class ModelFileMutations
{
    /// <summary>One random mutation of <paramref name="original"/> (never changed itself) and its kind.</summary>
    public static (string Kind, byte[] Bytes) Mutate(byte[] original, Random rng)
    {
        var bytes = original.ToArray();
        switch (rng.Next(10))
        {
            case < 5: // one flipped bit anywhere
                int at = rng.Next(bytes.Length);
                bytes[at] ^= (byte)(1 << rng.Next(8));
                return ("bit flip", bytes);
            case 5 or 6: // a short range overwritten with random bytes
                int start = rng.Next(bytes.Length), length = System.Math.Min(1 + rng.Next(64), bytes.Length - start);
                rng.NextBytes(bytes.AsSpan(start, length));
                return ("overwritten range", bytes);
            case 7: // cut short
                return ("truncated", bytes[..rng.Next(bytes.Length)]);
            case 8: // garbage appended or a zeroed block (a sector lost)
                if (rng.Next(2) == 0)
                {
                    var tail = new byte[1 + rng.Next(512)];
                    rng.NextBytes(tail);
                    return ("appended bytes", [.. bytes, .. tail]);
                }
                int zero = rng.Next(bytes.Length);
                bytes.AsSpan(zero, System.Math.Min(512, bytes.Length - zero)).Clear();
                return ("zeroed block", bytes);
            default: // not a model at all
                if (rng.Next(2) == 0) return ("empty file", []);
                var random = new byte[rng.Next(1, 2 * bytes.Length)];
                rng.NextBytes(random);
                return ("random bytes", random);
        }
    }
}
