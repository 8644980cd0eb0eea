namespace ReflectedDiffusion.ML.Tests;

/// <summary>The four columns the scoring stage adds, read back with CreateEnumerable or a prediction engine.</summary>
public sealed class ScoredRow
{
    public float LogLikelihood { get; set; }
    public float BitsPerDimension { get; set; }
    public float Score { get; set; }
    public bool PredictedLabel { get; set; }
}
