// Usage: LoadCheck MODEL.zip INPUT.csv OUTPUT.csv
// INPUT: one row of comma-separated feature values per line. OUTPUT: LogLikelihood,BitsPerDimension per line.
// Uses only public ML.NET calls plus the library's registration of its custom mapping.
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;

// Or: LoadCheck save-and-hang SOURCE TARGET: saves SOURCE's bytes to TARGET through AtomicFile (the path of every model
// save), prints "half written" after half the bytes and then waits to be killed: a process killed during a save.
if (args is ["save-and-hang", var source, var target])
{
    var bytes = File.ReadAllBytes(source);
    ReflectedDiffusion.IO.AtomicFile.Write(target, s =>
    {
        s.Write(bytes, 0, bytes.Length / 2);
        s.Flush();
        Console.WriteLine("half written");
        Thread.Sleep(Timeout.Infinite);
    });
    return 1;
}
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: LoadCheck MODEL.zip INPUT.csv OUTPUT.csv");
    return 2;
}
var ml = new MLContext().RegisterReflectedDiffusion();
var model = ml.Model.Load(args[0], out var schema);
var rows = File.ReadLines(args[1]).Select(l => new Row { Features = l.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray() }).ToList();
var definition = SchemaDefinition.Create(typeof(Row));
definition[nameof(Row.Features)].ColumnType = schema[nameof(Row.Features)].Type;
var scored = model.Transform(ml.Data.LoadFromEnumerable(rows, definition));
var ll = scored.GetColumn<float>("LogLikelihood").ToArray();
var bpd = scored.GetColumn<float>("BitsPerDimension").ToArray();
File.WriteAllLines(args[2], ll.Zip(bpd, (a, b) => $"{a.ToString("R", CultureInfo.InvariantCulture)},{b.ToString("R", CultureInfo.InvariantCulture)}"));
(model as IDisposable)?.Dispose();
return 0;

internal sealed class Row
{
    public float[] Features = [];
}
