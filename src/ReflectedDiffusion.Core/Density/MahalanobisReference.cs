namespace ReflectedDiffusion.Density;

/// <summary>
/// A Gaussian fitted to reference vectors (mean and precision, the inverse of the covariance with a small ridge), and
/// the squared Mahalanobis distance of a vector from it.
/// </summary>
public sealed record MahalanobisReference(double[] Mean, double[] Precision)
{
    /// <summary>Ridge added to the covariance's diagonal, relative to its mean variance: keeps a near-singular covariance invertible.</summary>
    public const double RelativeRidge = 1e-6;

    /// <summary>The vectors' length.</summary>
    public int Dimension => Mean.Length;

    /// <summary>Fits the mean and precision of <paramref name="vectors"/> (row-major [n, k], n at least 2).</summary>
    public static MahalanobisReference Fit(double[] vectors, int k)
    {
        int n = vectors.Length / k;
        if (n < 2) throw new ArgumentException($"A reference needs at least 2 vectors; got {n}.", nameof(vectors));
        if (vectors.Any(v => !double.IsFinite(v))) throw new ArgumentException("Reference vectors must be finite.", nameof(vectors));
        var mean = new double[k];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < k; a++) mean[a] += vectors[i * k + a] / n;
        var cov = new double[k * k];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < k; a++)
                for (int b = 0; b < k; b++) cov[a * k + b] += (vectors[i * k + a] - mean[a]) * (vectors[i * k + b] - mean[b]) / (n - 1);
        double ridge = RelativeRidge * Enumerable.Range(0, k).Average(a => cov[a * k + a]) + 1e-12;
        for (int a = 0; a < k; a++) cov[a * k + a] += ridge;
        return new MahalanobisReference(mean, Invert(cov, k));
    }

    /// <summary>The squared Mahalanobis distance of <paramref name="vector"/> (length <see cref="Dimension"/>).</summary>
    public double Distance(ReadOnlySpan<double> vector) => Between(vector, Mean);

    /// <summary>The squared distance between two vectors in this reference's metric, (a - b)' Precision (a - b).</summary>
    public double Between(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        int k = Dimension;
        double sum = 0;
        for (int i = 0; i < k; i++)
        {
            double row = 0;
            for (int j = 0; j < k; j++) row += Precision[i * k + j] * (a[j] - b[j]);
            sum += (a[i] - b[i]) * row;
        }
        return sum;
    }

    // The inverse of a symmetric positive definite matrix through its Cholesky factor, L^-T L^-1.
    private static double[] Invert(double[] m, int k)
    {
        var l = new double[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = m[i * k + j];
                for (int p = 0; p < j; p++) s -= l[i * k + p] * l[j * k + p];
                l[i * k + j] = i == j ? System.Math.Sqrt(System.Math.Max(s, 1e-300)) : s / l[j * k + j];
            }
        var inverseL = new double[k * k]; // lower triangular
        for (int j = 0; j < k; j++)
        {
            inverseL[j * k + j] = 1 / l[j * k + j];
            for (int i = j + 1; i < k; i++)
            {
                double s = 0;
                for (int p = j; p < i; p++) s -= l[i * k + p] * inverseL[p * k + j];
                inverseL[i * k + j] = s / l[i * k + i];
            }
        }
        var result = new double[k * k];
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++)
            {
                double s = 0;
                for (int p = System.Math.Max(a, b); p < k; p++) s += inverseL[p * k + a] * inverseL[p * k + b];
                result[a * k + b] = s;
            }
        return result;
    }
}
