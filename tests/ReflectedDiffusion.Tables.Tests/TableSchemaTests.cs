using System.Text.Json;
using Xunit;

namespace ReflectedDiffusion.Tables.Tests;

public sealed class TableSchemaTests
{
    private static string Penguins => Path.Combine(AppContext.BaseDirectory, "data", "penguins.csv");

    [Fact]
    public void PenguinsSchemaHasTheRightKindsVocabulariesBoundsAndMissingRates()
    {
        var table = TableCsv.Read(Penguins).Table;
        var schema = TableSchema.Infer(table);
        Assert.Equal(344, schema.RowCount);
        Assert.Equal(["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"], schema.Names);
        Assert.Equal(ColumnKind.Categorical, schema["species"].Kind);
        Assert.Equal(["Adelie", "Chinstrap", "Gentoo"], schema["species"].Vocabulary!);
        Assert.Equal([152, 68, 124], schema["species"].CategoryCounts!);
        Assert.Equal(ColumnKind.Real, schema["bill_length_mm"].Kind);
        Assert.Equal(1, schema["bill_length_mm"].Decimals);
        Assert.Equal(32.1, schema["bill_length_mm"].Min);
        Assert.Equal(59.6, schema["bill_length_mm"].Max);
        Assert.Equal(2, schema["bill_length_mm"].MissingCount);
        Assert.Equal(ColumnKind.Integer, schema["flipper_length_mm"].Kind);
        Assert.Equal(ColumnKind.Integer, schema["body_mass_g"].Kind);
        Assert.Equal(ColumnKind.Integer, schema["year"].Kind);
        Assert.Equal(["female", "male"], schema["sex"].Vocabulary!);
        Assert.Equal(11, schema["sex"].MissingCount);
        Assert.Equal(11.0 / 344, schema["sex"].MissingRate, 12);
    }

    [Fact]
    public void ConstantAllMissingAndSingleCategoryColumnsAreConstant()
    {
        var table = TableCsvTests.Parse("one,none,cat,num\nx,NA,a,5\nx,,b,5\nNA,NA,a,NA\n").Table;
        var schema = TableSchema.Infer(table);
        Assert.Equal(ColumnKind.Constant, schema["one"].Kind);
        Assert.Equal("x", schema["one"].ConstantText);
        Assert.Equal(1.0 / 3, schema["one"].MissingRate, 12);
        // An all-missing (empty) column reads as text with no values: a constant that is always missing.
        Assert.Equal(ColumnKind.Constant, schema["none"].Kind);
        Assert.Null(schema["none"].ConstantText);
        Assert.Equal(1.0, schema["none"].MissingRate);
        Assert.Equal(ColumnKind.Categorical, schema["cat"].Kind);
        Assert.Equal(ColumnKind.Constant, schema["num"].Kind);
        Assert.Equal("5", schema["num"].ConstantText);
    }

    [Fact]
    public void CategoriesOfNumbersSortNumericallyAndIntegerIsEnforced()
    {
        Assert.Equal(["2", "10", "100"], TableSchema.SortCategories(["100", "10", "2"]));
        var table = new Table([TableColumn.Numeric("v", [1, 2.5])]);
        Assert.Contains("Column 'v', row 1: 2.5 is not an integer", Assert.Throws<TableInputException>(() => TableSchema.Infer(table, ["v"])).Message);
    }

    [Fact]
    public void SchemaSurvivesJson()
    {
        var schema = TableSchema.Infer(TableCsv.Read(Penguins).Table);
        var back = JsonSerializer.Deserialize<TableSchema>(JsonSerializer.Serialize(schema))!;
        Assert.Equal(schema.Describe(), back.Describe());
        Assert.Equal(schema["species"].CategoryCounts!, back["species"].CategoryCounts!);
    }

    [Fact]
    public void BadTablesAreRefused()
    {
        Assert.Contains("no rows", Assert.Throws<TableInputException>(() => TableSchema.Infer(new Table([TableColumn.Numeric("a", [])]))).Message);
        Assert.Contains("'b' has 1 rows", Assert.Throws<TableInputException>(() => new Table([TableColumn.Numeric("a", [1, 2]), TableColumn.Numeric("b", [1])])).Message);
        Assert.Contains("not a finite number", Assert.Throws<TableInputException>(() => TableColumn.Numeric("a", [double.PositiveInfinity])).Message);
    }
}
