using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace ReflectedDiffusion.ML;

/// <summary>Default names of the columns the fitted transformer adds.</summary>
public static class ReflectedDiffusionColumns
{
    /// <summary>Log-likelihood in nats, in the user's units (scalar <see cref="float"/>; minus infinity outside the bounds).</summary>
    public const string LogLikelihood = "LogLikelihood";
    /// <summary>Bits per dimension, -LogLikelihood / (d ln 2) (scalar <see cref="float"/>).</summary>
    public const string BitsPerDimension = "BitsPerDimension";
    /// <summary>Anomaly score (scalar <see cref="float"/>, higher = more anomalous, finite for every row).</summary>
    public const string Score = "Score";
    /// <summary>Predicted anomaly (scalar <see cref="bool"/>: the score lies above the fitted threshold).</summary>
    public const string PredictedLabel = "PredictedLabel";
}

/// <summary>The ONNX graph's per-row outputs as ML.NET reads them: vectors of length one.</summary>
public sealed class LikelihoodVectors
{
    /// <summary>Log-likelihood, as a one-element vector.</summary>
    [ColumnName(ScoringStage.LogLikelihoodVectorColumn), VectorType(1)]
    public float[] LogLikelihood = [];

    /// <summary>Bits per dimension, as a one-element vector.</summary>
    [ColumnName(ScoringStage.BitsPerDimensionVectorColumn), VectorType(1)]
    public float[] BitsPerDimension = [];

    /// <summary>Anomaly score, as a one-element vector.</summary>
    [ColumnName(ScoringStage.ScoreVectorColumn), VectorType(1)]
    public float[] Score = [];

    /// <summary>Predicted anomaly, as a one-element vector.</summary>
    [ColumnName(ScoringStage.PredictedLabelVectorColumn), VectorType(1)]
    public bool[] PredictedLabel = [];
}

/// <summary>The scalar columns the transformer adds, which evaluators and prediction engines take as they are.</summary>
public sealed class LikelihoodScalars
{
    /// <summary>Log-likelihood in nats, in the user's units; minus infinity outside the bounds.</summary>
    public float LogLikelihood;

    /// <summary>-LogLikelihood / (d ln 2).</summary>
    public float BitsPerDimension;

    /// <summary>Anomaly score: negative log-likelihood per dimension, continued outside the bounds (finite for every row).</summary>
    public float Score;

    /// <summary>The score lies above the fitted threshold.</summary>
    public bool PredictedLabel;
}

/// <summary>
/// The stateless vector-to-scalar mapping, saved by contract name so that <c>mlContext.Model.Load</c> finds it again
/// (register this assembly first: <see cref="ReflectedDiffusionCatalog.RegisterReflectedDiffusion"/>).
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class LikelihoodScalarsFactory : CustomMappingFactory<LikelihoodVectors, LikelihoodScalars>
{
    /// <summary>The contract name stored in model files (v2: with the anomaly columns).</summary>
    public const string ContractName = "ReflectedDiffusion.LikelihoodScalars.v2";

    /// <summary>The mapping itself.</summary>
    public static void Map(LikelihoodVectors input, LikelihoodScalars output)
    {
        output.LogLikelihood = input.LogLikelihood[0];
        output.BitsPerDimension = input.BitsPerDimension[0];
        output.Score = input.Score[0];
        output.PredictedLabel = input.PredictedLabel[0];
    }

    /// <inheritdoc />
    public override Action<LikelihoodVectors, LikelihoodScalars> GetMapping() => Map;
}
