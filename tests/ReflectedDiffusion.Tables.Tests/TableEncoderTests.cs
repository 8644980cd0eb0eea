using System.Text.Json;
using Xunit;

namespace ReflectedDiffusion.Tables.Tests;

public sealed class TableEncoderTests
{
    // 20 rows: a real column with a missing value, an integer column with a point mass at 0 (half the rows), a
    // categorical column with a missing value, a constant column, and an all-missing column.
    private static Table Tiny()
    {
        var lines = new List<string> { "x,n,kind,same,none" };
        for (int i = 0; i < 20; i++)
            lines.Add(string.Join(',', i == 3 ? "NA" : (1.5 + 0.1 * i).ToString("F1", System.Globalization.CultureInfo.InvariantCulture),
                i % 2 == 0 ? "0" : (i + 1).ToString(), i == 5 ? "" : i % 3 == 0 ? "a" : "b", "k", "NA"));
        return TableCsvTests.Parse(string.Join('\n', lines) + "\n").Table;
    }

    private static TableEncoder Fit(Table table, TableEncoderOptions? options = null) => TableEncoder.Fit(table, TableSchema.Infer(table), options);

    [Fact]
    public void LayoutHasOneCoordinatePerValueIndicatorAndCategory()
    {
        var encoder = Fit(Tiny());
        // x: value + missing; n: value + point mass at 0; kind: a, b + missing slot; same, none: nothing.
        Assert.Equal(7, encoder.Dimension);
        Assert.Equal((0, 1), (encoder["x"].ValueIndex, encoder["x"].MissingIndex));
        Assert.Equal([0.0], encoder["n"].PointMasses);
        Assert.Equal((2, 3, -1), (encoder["n"].ValueIndex, encoder["n"].PointMassIndex, encoder["n"].MissingIndex));
        Assert.Equal((4, 6), (encoder["kind"].CategoryIndex, encoder["kind"].MissingIndex));
        Assert.Equal(0, encoder["same"].Width);
        Assert.Equal("k", encoder["same"].Constant);
        Assert.Null(encoder["none"].Constant);
    }

    [Fact]
    public void EncodeThenDecodeGivesTheTableBack()
    {
        var table = Tiny();
        var encoder = Fit(table);
        var rows = encoder.Encode(table);
        Assert.All(rows, r => Assert.All(r, v => Assert.InRange(v, 0f, 1f)));
        var back = encoder.Decode(rows);
        Assert.Equal(table.Names, back.Names);
        for (int j = 0; j < table.Columns.Count; j++)
        {
            var (a, b) = (table.Columns[j], back.Columns[j]);
            if (a.IsNumeric) Assert.Equal(a.Numbers!, b.Numbers!);
            else Assert.Equal(TableCsvTests.Show(a.Texts!), TableCsvTests.Show(b.Texts!));
        }
    }

    [Fact]
    public void AnyPointOfTheBoxDecodesInsideTheConstraints()
    {
        var table = Tiny();
        var encoder = Fit(table);
        var random = new Random(4);
        // Corners, faces and the interior.
        var points = Enumerable.Range(0, 500).Select(i => Enumerable.Range(0, encoder.Dimension)
            .Select(_ => i < 100 ? (float)random.Next(2) : i < 200 ? (random.Next(3) == 0 ? 0f : (float)random.NextDouble()) : (float)random.NextDouble()).ToArray()).ToArray();
        var decoded = encoder.Decode(points);
        var schema = encoder.Schema;
        foreach (var v in decoded["x"].Numbers!.Where(v => !double.IsNaN(v)))
        {
            Assert.InRange(v, schema["x"].Min!.Value, schema["x"].Max!.Value);
            Assert.Equal(Math.Round(v, 1), v);
        }
        Assert.All(decoded["n"].Numbers!, v => { Assert.InRange(v, 0, 20); Assert.Equal(Math.Round(v), v); });
        Assert.All(decoded["kind"].Texts!, t => Assert.True(t is null or "a" or "b"));
        Assert.All(decoded["same"].Texts!, t => Assert.Equal("k", t));
        Assert.All(decoded["none"].Numbers!, v => Assert.True(double.IsNaN(v))); // no cell to go by: read as numbers
        // The end integers are reachable: both faces of n's value coordinate decode to the observed extremes.
        var lowest = new float[encoder.Dimension];
        var highest = Enumerable.Repeat(0f, encoder.Dimension).ToArray();
        highest[encoder["n"].ValueIndex] = 1;
        Assert.Equal(0, encoder.Decode([lowest])["n"].Numbers![0]); // the observed minimum (the point mass itself)
        Assert.Equal(20, encoder.Decode([highest])["n"].Numbers![0]);
    }

    [Fact]
    public void DeclaredBoundsAreUsedAndMustHoldTheDataWideningIsOptIn()
    {
        var table = Tiny();
        var declared = Fit(table, new TableEncoderOptions { ColumnBounds = new Dictionary<string, (double, double)> { ["x"] = (0, 10) } });
        Assert.Equal((0.0, 10.0), (declared["x"].Min, declared["x"].Max));
        Assert.Equal((1.5, 3.4), (Fit(table)["x"].Min, Fit(table)["x"].Max));
        var widened = Fit(table, new TableEncoderOptions { BoundsMargin = 0.1 });
        Assert.Equal(1.5 - 0.19, widened["x"].Min, 12);
        Assert.Contains("Column 'x', row 0: 1.5 lies outside the declared bounds [2, 3]",
            Assert.Throws<TableInputException>(() => Fit(table, new TableEncoderOptions { ColumnBounds = new Dictionary<string, (double, double)> { ["x"] = (2, 3) } })).Message);
        Assert.Contains("not numeric", Assert.Throws<TableInputException>(() => Fit(table, new TableEncoderOptions { ColumnBounds = new Dictionary<string, (double, double)> { ["kind"] = (0, 1) } })).Message);
    }

    [Fact]
    public void BadInputIsNamed()
    {
        var table = Tiny();
        var encoder = Fit(table);
        var other = TableCsvTests.Parse("x,n,kind,same,none\n2,0,c,k,NA\n").Table;
        Assert.Contains("Column 'kind', row 0: 'c' is not a category", Assert.Throws<TableInputException>(() => encoder.Encode(other)).Message);
        var outside = TableCsvTests.Parse("x,n,kind,same,none\n9,0,a,k,NA\n").Table;
        Assert.Contains("Column 'x', row 0: 9 lies outside", Assert.Throws<TableInputException>(() => encoder.Encode(outside)).Message);
        var constant = TableCsvTests.Parse("a,b\n1,x\n1,x\n").Table;
        Assert.Contains("Every column is constant", Assert.Throws<TableInputException>(() => Fit(constant)).Message);
    }

    [Fact]
    public void PenguinsEncodeAndTheEncoderSurvivesJson()
    {
        var table = TableCsv.Read(Path.Combine(AppContext.BaseDirectory, "data", "penguins.csv")).Table;
        var encoder = Fit(table);
        // species 3, island 3, bill length 1+1, bill depth 1+1, flipper 1 + mass at 190 + 1, body mass 1+1, sex 2+1, year 3 masses.
        Assert.Equal([190.0], encoder["flipper_length_mm"].PointMasses);
        Assert.Equal(-1, encoder["year"].ValueIndex);
        Assert.Equal(3 + 3 + 2 + 2 + 3 + 2 + 3 + 3, encoder.Dimension);
        var json = JsonSerializer.Serialize(encoder);
        var back = JsonSerializer.Deserialize<TableEncoder>(json)!;
        Assert.Equal(encoder.Describe(), back.Describe());
        var rows = encoder.Encode(table);
        Assert.Equal(TableCsvTests.Write(encoder.Decode(rows), encoder.Schema), TableCsvTests.Write(back.Decode(rows), back.Schema));
        Assert.Equal(TableCsvTests.Write(table, encoder.Schema), TableCsvTests.Write(back.Decode(rows), back.Schema));
    }
}
