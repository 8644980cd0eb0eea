using Xunit;

namespace ReflectedDiffusion.Tables.Tests;

public sealed class ConditionTests
{
    private static readonly Table Data = TableCsvTests.Parse("kind,size,n\na,1.5,1\nb,2.5,2\nNA,NA,3\nb,0.5,2\n").Table;
    private static readonly TableSchema Schema = TableSchema.Infer(Data);

    [Theory]
    [InlineData("kind=b", ConditionOperator.Equal, "b", new[] { false, true, false, true })]
    [InlineData("kind = NA", ConditionOperator.Equal, "NA", new[] { false, false, true, false })]
    [InlineData("size>=1.5", ConditionOperator.GreaterOrEqual, "1.5", new[] { true, true, false, false })]
    [InlineData("size>1.5", ConditionOperator.Greater, "1.5", new[] { false, true, false, false })]
    [InlineData("size<1.5", ConditionOperator.Less, "1.5", new[] { false, false, false, true })]
    [InlineData("size<=1.5", ConditionOperator.LessOrEqual, "1.5", new[] { true, false, false, true })]
    [InlineData("n=2", ConditionOperator.Equal, "2", new[] { false, true, false, true })]
    public void ParsesAndEvaluates(string text, ConditionOperator op, string value, bool[] expected)
    {
        var c = RowCondition.Parse(text);
        Assert.Equal(op, c.Operator);
        Assert.Equal(value, c.Value);
        c.Validate(Schema);
        Assert.Equal(expected, Enumerable.Range(0, Data.RowCount).Select(i => c.IsSatisfiedBy(Data, i)).ToArray());
    }

    [Theory]
    [InlineData("kind=c", "'c' is not a category of column 'kind' (categories: a, b)")]
    [InlineData("colour=red", "column 'colour' is not in the model's table")]
    [InlineData("kind>=1", "column 'kind' is categorical")]
    [InlineData("size>=9", "no value of column 'size' can satisfy it")]
    [InlineData("n=1.5", "no value of column 'n' can satisfy it")]
    [InlineData("n=NA", "column 'n' has no missing values")]
    [InlineData("size=big", "'big' is not a number")]
    [InlineData("=3", "write column=value")]
    [InlineData("size>=", "no value after '>='")]
    public void BadConditionsAreExplained(string text, string expected)
    {
        var e = Assert.Throws<TableInputException>(() => RowCondition.Parse(text).Validate(Schema));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void RejectionKeepsOnlyRowsThatSatisfyAndStopsAtTheBudget()
    {
        // A "model" that cycles through the data's rows: a quarter of them are kind=a.
        int calls = 0;
        Table Draw(int round, int n)
        {
            calls++;
            return Data.Select(Enumerable.Range(0, n).Select(i => (i + round) % Data.RowCount).ToArray());
        }
        var (rows, drawn) = ConditionalSampler.Draw(Draw, Schema, [RowCondition.Parse("kind=b"), RowCondition.Parse("size>1")], 10, 1000);
        Assert.Equal(10, rows.RowCount);
        Assert.All(rows["size"].Numbers!, v => Assert.Equal(2.5, v));
        Assert.True(drawn >= 40, $"drawn {drawn}");
        var e = Assert.Throws<TableInputException>(() => ConditionalSampler.Draw(Draw, Schema, [RowCondition.Parse("size<1.5"), RowCondition.Parse("kind=a")], 5, 200));
        Assert.Contains("0 of 200 drawn rows satisfy them", e.Message);
        calls = 0;
        Assert.Equal(7, ConditionalSampler.Draw(Draw, Schema, [], 7, 7).Rows.RowCount);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void RowSetsCompareRowsAsTheCsvShowsThem()
    {
        var schema = TableSchema.Infer(Data);
        var set = new RowSet(Data, schema);
        Assert.Equal(4, set.Count);
        // The same values (a number that rounds to the column's decimals, missing as missing) are copies; one changed cell is not.
        var other = TableCsvTests.Parse("kind,size,n\nb,2.50000000001,2\nNA,NA,3\nb,2.6,2\na,NA,1\n").Table;
        Assert.Equal([true, true, false, false], Enumerable.Range(0, 4).Select(i => set.Contains(other, i)));
        Assert.Equal(2, set.CountIn(other));
        var reordered = new Table([other["n"], other["kind"], other["size"]]);
        Assert.Throws<ArgumentException>(() => set.Contains(reordered, 0));
    }

    [Fact]
    public void ExcludedRowsAreDrawnAgainAndAnUnconditionalRunKeepsItsOtherRows()
    {
        // A "model" that returns row k of the data for draw k of its round (round r starts at row r).
        Table Draw(int round, int n) => Data.Select(Enumerable.Range(0, n).Select(i => (i + round) % Data.RowCount).ToArray());
        var training = new RowSet(Data.Select([1]), Schema); // the row b,2.5,2
        var (rows, drawn) = ConditionalSampler.Draw(Draw, Schema, [], 8, 100, training);
        Assert.Equal(8, rows.RowCount);
        Assert.Equal(0, training.CountIn(rows));
        Assert.True(drawn > 8);
        // Round 0's rows, less the copies, come first and in order: as without the exclusion.
        Assert.Equal(["a", null, "b", "a", null, "b"], rows["kind"].Texts!.Take(6));
        var e = Assert.Throws<TableInputException>(() => ConditionalSampler.Draw(Draw, Schema, [], 5, 20, new RowSet(Data, Schema)));
        Assert.Contains("Copies: 20 of 20 drawn rows equal a training row", e.Message);
    }
}
