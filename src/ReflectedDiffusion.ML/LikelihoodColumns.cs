using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace ReflectedDiffusion.ML;

/// <summary>Names of the columns the fitted transformer adds.</summary>
public static class ReflectedDiffusionColumns
{
    /// <summary>Log-likelihood in nats, in the user's units (scalar <see cref="float"/>).</summary>
    public const string LogLikelihood = "LogLikelihood";
    /// <summary>Bits per dimension, -LogLikelihood / (d ln 2) (scalar <see cref="float"/>).</summary>
    public const string BitsPerDimension = "BitsPerDimension";
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
}

/// <summary>The scalar columns the transformer adds, which evaluators and prediction engines take as they are.</summary>
public sealed class LikelihoodScalars
{
    /// <summary>Log-likelihood in nats, in the user's units; minus infinity outside the bounds.</summary>
    public float LogLikelihood;

    /// <summary>-LogLikelihood / (d ln 2).</summary>
    public float BitsPerDimension;
}

/// <summary>
/// The stateless vector-to-scalar mapping, saved by contract name so that <c>mlContext.Model.Load</c> finds it again
/// (register this assembly first: <see cref="ReflectedDiffusionCatalog.RegisterReflectedDiffusion"/>).
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class LikelihoodScalarsFactory : CustomMappingFactory<LikelihoodVectors, LikelihoodScalars>
{
    /// <summary>The contract name stored in model files.</summary>
    public const string ContractName = "ReflectedDiffusion.LikelihoodScalars.v1";

    /// <summary>The mapping itself.</summary>
    public static void Map(LikelihoodVectors input, LikelihoodScalars output)
    {
        output.LogLikelihood = input.LogLikelihood[0];
        output.BitsPerDimension = input.BitsPerDimension[0];
    }

    /// <inheritdoc />
    public override Action<LikelihoodVectors, LikelihoodScalars> GetMapping() => Map;
}
