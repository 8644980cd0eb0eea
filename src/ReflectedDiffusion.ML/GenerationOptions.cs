using ReflectedDiffusion.Sampling;

namespace ReflectedDiffusion.ML;

/// <summary>
/// Options of <see cref="ReflectedDiffusionGenerator"/> (public fields with defaults, as ML.NET's options are); <c>rdiff
/// sample</c> exposes each as a flag of the same name in kebab case. A generated row depends only on the model,
/// <see cref="Sampler"/>, <see cref="Steps"/>, <see cref="Seed"/>, its index, label and guidance weight: never on the
/// batch size or on which door (API or tool) asked for it.
/// </summary>
public sealed class GenerationOptions
{
    /// <summary>Default steps of <see cref="SamplerKind.OdeHeun"/>.</summary>
    public const int DefaultHeunSteps = 100;
    /// <summary>Default steps of <see cref="SamplerKind.ReflectedSde"/>.</summary>
    public const int DefaultSdeSteps = 500;
    /// <summary>Default predictor steps of <see cref="SamplerKind.PredictorCorrector"/>.</summary>
    public const int DefaultPredictorCorrectorSteps = 250;

    /// <summary>
    /// The sampler: the probability-flow ODE by Heun's method (the one the ONNX generation graph compiles), by adaptive
    /// RK45, the reverse reflected SDE, or predictor-corrector. Null (the default) takes the model's: the reverse
    /// reflected SDE for table models (<see cref="ReflectedDiffusionTable.DefaultSampler"/>: category, missing-value
    /// and point-mass rates come back closer to the data's), the Heun ODE otherwise.
    /// </summary>
    public SamplerKind? Sampler;

    /// <summary>The sampler that runs: <see cref="Sampler"/>, or the Heun ODE when it is null.</summary>
    public SamplerKind SamplerToUse => Sampler ?? SamplerKind.OdeHeun;
    /// <summary>Steps of the fixed-step samplers; null takes the sampler's default (Heun 100, SDE 500, predictor-corrector 250). The adaptive ODE ignores it.</summary>
    public int? Steps;
    /// <summary>Seed of the run: row i uses the row seed of (Seed, i).</summary>
    public ulong Seed;
    /// <summary>
    /// Index of the first row to generate: a call for <c>count</c> rows gives rows FirstRow..FirstRow+count-1 of the run,
    /// exactly as one call for all of them would (a shard of a larger job; <c>rdiff sample --rows A:B</c>).
    /// </summary>
    public long FirstRow;
    /// <summary>Classifier-free guidance weight, finite and not negative (conditional models; 0 is plain conditional sampling).</summary>
    public double Guidance;
    /// <summary>Rows integrated together (memory against speed; the rows do not depend on it).</summary>
    public int BatchSize = 1024;
    /// <summary>Called as rows are generated with (rows done, rows in all).</summary>
    public Action<long, long>? Progress;
    /// <summary>Cancels between sampler steps.</summary>
    public CancellationToken CancellationToken;

    /// <summary>The steps the chosen sampler takes.</summary>
    public int StepsToTake => Steps ?? SamplerToUse switch
    {
        SamplerKind.ReflectedSde => DefaultSdeSteps,
        SamplerKind.PredictorCorrector => DefaultPredictorCorrectorSteps,
        _ => DefaultHeunSteps,
    };

    /// <summary>A copy for the rows from <paramref name="firstRow"/> on, without the progress callback (the caller reports).</summary>
    internal GenerationOptions ForRows(long firstRow)
    {
        var copy = (GenerationOptions)MemberwiseClone();
        copy.FirstRow = firstRow;
        copy.Progress = null;
        return copy;
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (Sampler is { } sampler && !Enum.IsDefined(sampler)) throw new ArgumentOutOfRangeException(nameof(Sampler), Sampler, "Sampler is not a known sampler.");
        if (Steps is <= 0) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "Steps must be positive.");
        if (!double.IsFinite(Guidance) || Guidance < 0) throw new ArgumentOutOfRangeException(nameof(Guidance), Guidance, "Guidance must be finite and not negative.");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be positive.");
        if (FirstRow < 0) throw new ArgumentOutOfRangeException(nameof(FirstRow), FirstRow, "FirstRow must not be negative.");
    }
}
