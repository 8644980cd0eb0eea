using ReflectedDiffusion.Networks;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Density;

/// <summary>
/// A row's multiscale profile for anomaly scoring (after multiscale score matching, Mahalanobis et al. 2021): at each
/// noise level sigma the log of the mean squared sigma-scaled score, log(|sigma s(x, sigma)|^2 / d). By Tweedie's
/// formula sigma^2 s is the step from x to the denoised mean, so at a level below a row's distance from the data the
/// value grows with that distance, and at a level above it the value says how far the row lies from the data's bulk.
/// One network evaluation per level and no ODE. A likelihood alone ranks rows by how sharply they fit the data's
/// low-dimensional structure, which rows of an unseen class share; the profile measures where along it a row lies.
/// </summary>
public static class MultiscaleProfile
{
    /// <summary>The most noise levels a profile uses (as many as multiscale score matching used on images).</summary>
    public const int MaximumLevels = 10;
    /// <summary>The widest level, in unit-box coordinates: a feature's whole range.</summary>
    public const double WidestLevel = 1.0;
    /// <summary>The narrowest level never goes below this (1% of a feature's range), whatever the model's smallest noise level.</summary>
    public const double NarrowestLevel = 0.01;

    /// <summary>
    /// How many levels a reference fitted on <paramref name="rows"/> rows supports: the Gaussian over k = levels + 1
    /// coordinates has k (k + 1) / 2 covariance entries, and with about ten rows per entry, k is about sqrt(rows / 5).
    /// A profile with more levels than the rows support makes the training rows' distances fit too well, and new normal
    /// rows look anomalous (measured on 182 penguins: AUC 0.97 with 4 levels, 0.91 with 10). Between 2 and <see cref="MaximumLevels"/>.
    /// </summary>
    /// <remarks>The vector [profile, likelihood score] also gets no more coordinates than the <paramref name="dimension"/>
    /// of the row it summarises (levels at most d - 1, still at least 2): the vectors of d-dimensional rows lie on a
    /// d-dimensional set, and coordinates beyond that add noise to every distance.</remarks>
    public static int LevelsFor(int rows, int dimension)
        => System.Math.Clamp(System.Math.Min((int)System.Math.Floor(System.Math.Sqrt(rows / 5.0)) - 1, dimension - 1), 2, MaximumLevels);

    /// <summary>
    /// <paramref name="count"/> levels spaced geometrically from <paramref name="narrowest"/> (kept between
    /// <see cref="NarrowestLevel"/> and half the widest) to <see cref="WidestLevel"/>, a feature's whole range.
    /// </summary>
    public static double[] Levels(double narrowest, int count = MaximumLevels)
    {
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "A profile needs at least two levels.");
        double low = System.Math.Log(System.Math.Clamp(narrowest, NarrowestLevel, WidestLevel / 2)), high = System.Math.Log(WidestLevel);
        return Enumerable.Range(0, count).Select(i => System.Math.Exp(low + i * (high - low) / (count - 1))).ToArray();
    }

    /// <summary>
    /// The profiles of <paramref name="unitRows"/> (row-major [N, d], unit-box coordinates; rows outside the box are
    /// allowed) at <paramref name="levels"/>: row-major [N, levels]. Conditional networks are evaluated with their null
    /// label (the unconditional score).
    /// </summary>
    public static double[] Compute(ScoreNetwork network, float[] unitRows, double[] levels)
    {
        ArgumentNullException.ThrowIfNull(network);
        int d = network.Config.Dimension, n = unitRows.Length / d;
        var result = new double[n * levels.Length];
        if (n == 0) return result;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(unitRows, [n, d]).to(network.DType);
        var labels = network.Config.IsConditional ? full([n], network.NullLabel, ScalarType.Int64) : null;
        for (int l = 0; l < levels.Length; l++)
        {
            var sigma = full([n], levels[l], network.DType);
            var score = network.Score(x, sigma, labels);
            var value = (score * levels[l]).pow(2).mean([1]).log().to(ScalarType.Float64).data<double>().ToArray();
            for (int i = 0; i < n; i++) result[i * levels.Length + l] = value[i];
        }
        return result;
    }
}

/// <summary>
/// The fitted reference of the multiscale anomaly score: the noise <paramref name="Levels"/> of the profile, a
/// Gaussian over the training rows' vectors (the profile at those levels, then the likelihood score), and optionally
/// those vectors themselves (<paramref name="Neighbours"/>, row-major [n, k]) with a <paramref name="Rank"/>.
/// </summary>
/// <remarks>
/// With vectors, a row's distance is the squared distance to its <paramref name="Rank"/>-th nearest training vector in
/// the Gaussian's metric (the nearest-neighbour variant of multiscale score matching): normal rows from several
/// modes (digit classes, species) have profiles a single Gaussian fits poorly. Without (models fitted before), it is
/// the squared Mahalanobis distance from the Gaussian.
/// </remarks>
public sealed record AnomalyProfile(double[] Levels, MahalanobisReference Reference, double[]? Neighbours = null, int Rank = 0)
{
    /// <summary>The neighbour whose distance scores a row: the fifth nearest, as classic k-nearest-neighbour detectors use.</summary>
    public const int DefaultRank = 5;

    /// <summary>The rank for <paramref name="vectors"/> training vectors: <see cref="DefaultRank"/>, at most one fewer than the vectors.</summary>
    public static int RankFor(int vectors) => System.Math.Clamp(vectors - 1, 1, DefaultRank);

    /// <summary>
    /// The anomaly distance of <paramref name="vector"/> (length <see cref="MahalanobisReference.Dimension"/>); with
    /// <paramref name="excludeSelf"/> a training vector's own entry is skipped (the next neighbour counts instead), so
    /// training rows are scored as new rows will be.
    /// </summary>
    public double Distance(ReadOnlySpan<double> vector, bool excludeSelf = false)
    {
        if (Neighbours is null) return Reference.Distance(vector);
        int k = Reference.Dimension, n = Neighbours.Length / k;
        var distances = new double[n];
        for (int i = 0; i < n; i++) distances[i] = Reference.Between(vector, Neighbours.AsSpan(i * k, k));
        Array.Sort(distances);
        return distances[System.Math.Min(n - 1, Rank - 1 + (excludeSelf ? 1 : 0))];
    }
}
