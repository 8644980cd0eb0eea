using Xunit;

namespace ReflectedDiffusion.Tables.Tests;

public sealed class TableCsvTests
{
    internal static CsvTableData Parse(string text, ColumnTypeOverrides? overrides = null)
        => TableCsv.Read(new StringReader(text), "t.csv", overrides);

    internal static string Write(Table table, TableSchema? schema = null)
    {
        var w = new StringWriter { NewLine = "\n" };
        TableCsv.Write(w, table, schema);
        return w.ToString();
    }

    // Text cells in one string, missing ones as <NA>.
    internal static string Show(string?[] texts) => string.Join("|", texts.Select(t => t ?? "<NA>"));

    [Fact]
    public void ReadsTypesMissingValuesAndQuotedFields()
    {
        var data = Parse("name,size,count,flag\n\"Smith, J\",1.5,3,yes\nNA,,4,no\n\"say \"\"hi\"\"\",2.25,NA,\"NA\"\n");
        var t = data.Table;
        Assert.Equal(["name", "size", "count", "flag"], t.Names);
        Assert.Equal(Show(["Smith, J", null, "say \"hi\""]), Show(t["name"].Texts!));
        Assert.True(t["size"].IsNumeric);
        Assert.Equal(1.5, t["size"].Numbers![0]);
        Assert.True(double.IsNaN(t["size"].Numbers![1]));
        Assert.Equal(2.25, t["size"].Numbers![2]);
        Assert.True(double.IsNaN(t["count"].Numbers![2]));
        // A quoted NA is the text NA, not a missing value.
        Assert.Equal(Show(["yes", "no", "NA"]), Show(t["flag"].Texts!));
        Assert.Equal([2, 3, 4], data.Lines);
    }

    [Fact]
    public void QuotedFieldsMaySpanLinesAndLinesCountThem()
    {
        var data = Parse("a,b\r\n\"line one\nline two\",1\r\n\r\nx,2\r\n");
        Assert.Equal(Show(["line one\nline two", "x"]), Show(data.Table["a"].Texts!));
        Assert.Equal([2, 5], data.Lines);
    }

    [Fact]
    public void OverridesMakeCategoriesIntegersAndDropColumns()
    {
        var data = Parse("year,value,id\n2007,1,a\n2008,2,b\n", new ColumnTypeOverrides { Categorical = ["year"], Integer = ["value"], Ignore = ["id"] });
        Assert.Equal(["year", "value"], data.Table.Names);
        Assert.Equal(Show(["2007", "2008"]), Show(data.Table["year"].Texts!));
        Assert.Equal([1.0, 2.0], data.Table["value"].Numbers!);
    }

    [Theory]
    [InlineData("a,b\n1,2\n3\n", "t.csv line 3: 1 fields; the header has 2 (column 'b' onwards is missing).")]
    [InlineData("a,b\n1,2,3\n", "t.csv line 2: 3 fields; the header has 2.")]
    [InlineData("a,b\n1,x\"y\n", "t.csv line 2, column 4: a quote inside the unquoted field 2")]
    [InlineData("a,b\n\"1\"z,2\n", "t.csv line 2, column 4: 'z' after the closing quote of field 1")]
    [InlineData("a,b\n1,2\n3,\"4\n", "t.csv line 3, column 3: the quoted field 2 is never closed.")]
    [InlineData("a,a\n1,2\n", "column 'a' appears twice")]
    [InlineData("a,\n1,2\n", "header field 2 is empty")]
    [InlineData("a,b\n", "no data rows")]
    [InlineData("", "no header row")]
    [InlineData("a,b\n1,2\n3,NaN\n", "t.csv line 3, column 'b': 'NaN' is not a finite number")]
    [InlineData("a,b\n1,-Infinity\n", "t.csv line 2, column 'b': '-Infinity' is not a finite number")]
    public void BadCsvNamesTheLineAndColumn(string text, string expected)
    {
        var e = Assert.Throws<TableInputException>(() => Parse(text));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void BadOverridesAreNamed()
    {
        Assert.Contains("integer: column 'nope'", Assert.Throws<TableInputException>(() => Parse("a\n1\n", new ColumnTypeOverrides { Integer = ["nope"] })).Message);
        Assert.Contains("line 3, column 'a': '1.5' is not an integer",
            Assert.Throws<TableInputException>(() => Parse("a\n1\n1.5\n", new ColumnTypeOverrides { Integer = ["a"] })).Message);
        Assert.Contains("line 2, column 'a': 'x' is not an integer",
            Assert.Throws<TableInputException>(() => Parse("a\nx\n", new ColumnTypeOverrides { Integer = ["a"] })).Message);
        Assert.Contains("every column is ignored", Assert.Throws<TableInputException>(() => Parse("a\n1\n", new ColumnTypeOverrides { Ignore = ["a"] })).Message);
    }

    [Fact]
    public void WritesTheSameHeaderNaIntegersAndQuotes()
    {
        var table = new Table([
            TableColumn.Text("who", ["a,b", null, "NA"]),
            TableColumn.Numeric("n", [3, double.NaN, -2]),
            TableColumn.Numeric("x", [0.1 + 0.2, 1e-3, 2.5]),
        ]);
        var schema = TableSchema.Infer(table);
        Assert.Equal("who,n,x\n\"a,b\",3,0.3\nNA,NA,0.001\n\"NA\",-2,2.5\n", Write(table, schema));
    }

    [Fact]
    public void WriteThenReadGivesTheSameTable()
    {
        var text = "s,v,k\n\"x \"\"q\"\"\",1.25,7\n,NA,8\n\"multi\nline\",-0.5,NA\n";
        var first = Parse(text).Table;
        var again = Parse(Write(first, TableSchema.Infer(first))).Table;
        Assert.Equal(Show(first["s"].Texts!), Show(again["s"].Texts!));
        Assert.Equal(first["v"].Numbers!, again["v"].Numbers!);
        Assert.Equal(first["k"].Numbers!, again["k"].Numbers!);
    }
}
