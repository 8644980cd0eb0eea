using Microsoft.ML;

namespace ReflectedDiffusion.ML;

/// <summary>Catalog entry points: <c>mlContext.Transforms.ReflectedDiffusion(...)</c>.</summary>
public static class ReflectedDiffusionCatalog
{
    /// <summary>A reflected diffusion estimator with all options.</summary>
    public static ReflectedDiffusionEstimator ReflectedDiffusion(this TransformsCatalog catalog, ReflectedDiffusionOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ReflectedDiffusionEstimator(options);
    }

    /// <summary>A reflected diffusion estimator with the common options; values must lie in [0, 1] (e.g. after NormalizeMinMax).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="featureColumnName">A known-size vector of Single, values in [0, 1].</param>
    /// <param name="labelColumnName">Optional key or integer label column (enables classifier-free guidance).</param>
    /// <param name="numberOfSteps">Training steps.</param>
    /// <param name="batchSize">Mini-batch size.</param>
    /// <param name="seed">Seed of training.</param>
    public static ReflectedDiffusionEstimator ReflectedDiffusion(this TransformsCatalog catalog, string featureColumnName = "Features",
        string? labelColumnName = null, int numberOfSteps = 2000, int batchSize = 256, ulong seed = 1)
        => catalog.ReflectedDiffusion(new ReflectedDiffusionOptions
        {
            FeatureColumnName = featureColumnName, LabelColumnName = labelColumnName, NumberOfSteps = numberOfSteps, BatchSize = batchSize, Seed = seed,
        });

    /// <summary>
    /// Registers this library's stateless mappings with <paramref name="mlContext"/>; call it before
    /// <c>mlContext.Model.Load</c> on a model file that holds a reflected diffusion stage.
    /// </summary>
    public static MLContext RegisterReflectedDiffusion(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        mlContext.ComponentCatalog.RegisterAssembly(typeof(LikelihoodScalarsFactory).Assembly);
        return mlContext;
    }
}
