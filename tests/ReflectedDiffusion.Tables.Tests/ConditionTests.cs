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
}
