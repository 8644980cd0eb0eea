using Microsoft.ML.Data;

/// <summary>A tumour of the UCI breast-cancer set: 30 features and whether it is malignant.</summary>
sealed class Tumour
{
    [VectorType(30)] public float[] Features = [];
    /// <summary>True for malignant.</summary>
    public bool Label;
}

/// <summary>Reads data/breast_cancer.csv (first line: counts and class names; then 30 features and 0 = malignant, 1 = benign).</summary>
static class BreastCancerData
{
    public static List<Tumour> Load() => File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "breast_cancer.csv")).Skip(1)
        .Where(l => l.Length > 0).Select(line => line.Split(','))
        .Select(p => new Tumour { Features = p[..30].Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray(), Label = p[30] == "0" })
        .ToList();
}
