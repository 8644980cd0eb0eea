using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Training;

/// <summary>
/// A small self-describing binary format for named tensors (float32, float64, int64). Files holding it are
/// written with <see cref="IO.AtomicFile"/>.
/// </summary>
public static class TensorIO
{
    /// <summary>Writes named tensors.</summary>
    public static void Write(BinaryWriter w, IReadOnlyCollection<KeyValuePair<string, Tensor>> tensors)
    {
        w.Write(tensors.Count);
        foreach (var (name, tensor) in tensors)
        {
            using var t = tensor.detach().cpu().contiguous();
            w.Write(name);
            w.Write((int)t.dtype);
            w.Write(t.dim());
            foreach (var d in t.shape) w.Write(d);
            switch (t.dtype)
            {
                case ScalarType.Float32: foreach (var v in t.data<float>()) w.Write(v); break;
                case ScalarType.Float64: foreach (var v in t.data<double>()) w.Write(v); break;
                case ScalarType.Int64: foreach (var v in t.data<long>()) w.Write(v); break;
                default: throw new NotSupportedException($"Tensor '{name}' has dtype {t.dtype}; only float32, float64 and int64 are stored.");
            }
        }
    }

    /// <summary>Reads named tensors written by <see cref="Write"/>, on the CPU.</summary>
    public static Dictionary<string, Tensor> Read(BinaryReader r)
    {
        int count = r.ReadInt32();
        var result = new Dictionary<string, Tensor>(count);
        for (int i = 0; i < count; i++)
        {
            string name = r.ReadString();
            var dtype = (ScalarType)r.ReadInt32();
            long[] shape = new long[r.ReadInt64()];
            for (int k = 0; k < shape.Length; k++) shape[k] = r.ReadInt64();
            long n = shape.Aggregate(1L, (a, b) => a * b);
            result[name] = dtype switch
            {
                ScalarType.Float32 => torch.tensor(ReadMany(n, r.ReadSingle), shape),
                ScalarType.Float64 => torch.tensor(ReadMany(n, r.ReadDouble), shape),
                ScalarType.Int64 => torch.tensor(ReadMany(n, r.ReadInt64), shape),
                _ => throw new InvalidDataException($"Tensor '{name}' has unsupported dtype code {(int)dtype}."),
            };
        }
        return result;
    }

    private static T[] ReadMany<T>(long n, Func<T> read)
    {
        var a = new T[n];
        for (long i = 0; i < n; i++) a[i] = read();
        return a;
    }

    internal static void WriteHeader(BinaryWriter w, string magic, int version)
    {
        w.Write(Encoding.ASCII.GetBytes(magic));
        w.Write(version);
    }

    internal static int ReadHeader(BinaryReader r, string magic, string what)
    {
        var got = Encoding.ASCII.GetString(r.ReadBytes(magic.Length));
        if (got != magic) throw new InvalidDataException($"This is not a {what} file (magic '{got}', expected '{magic}').");
        return r.ReadInt32();
    }
}
