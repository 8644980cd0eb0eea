namespace ReflectedDiffusion.Quality;

/// <summary>Settings of <see cref="QualityReport.Compute"/>.</summary>
public sealed class QualityOptions
{
    /// <summary>The column the efficacy models predict from the others; none skips the efficacy section. Needs a hold-out table.</summary>
    public string? Target;

    /// <summary>Folds of the cross-validated detection classifier.</summary>
    public int DetectionFolds = 5;

    /// <summary>Equal-width bins a numeric column is cut into for the contingency of a numeric-categorical pair.</summary>
    public int PairBins = 5;

    /// <summary>At most this many synthetic (and hold-out) rows enter the closest-row distances, drawn at random; exact copies count every row.</summary>
    public int MaxPrivacyRows = 2000;

    /// <summary>Seed of the models and of the row draws.</summary>
    public int Seed = 1;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the field that is out of range.</summary>
    public void Validate()
    {
        if (DetectionFolds < 2) throw new ArgumentOutOfRangeException(nameof(DetectionFolds), DetectionFolds, "At least 2 folds.");
        if (PairBins < 2) throw new ArgumentOutOfRangeException(nameof(PairBins), PairBins, "At least 2 bins.");
        if (MaxPrivacyRows < 1) throw new ArgumentOutOfRangeException(nameof(MaxPrivacyRows), MaxPrivacyRows, "At least 1 row.");
    }
}
