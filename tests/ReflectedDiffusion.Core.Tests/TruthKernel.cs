namespace ReflectedDiffusion.Tests;

/// <summary>
/// Independent float64 truth for the reflected heat kernel: a long images sum (shifts -60..60) combined by
/// log-sum-exp, one element at a time. Offsets near a face use exact differences, as the truth must be
/// more precise than the tolerance it checks.
/// </summary>
internal static class TruthKernel
{
    private const int Shifts = 60;

    private static IEnumerable<double> Offsets(double x, double x0)
    {
        double direct = x - x0, low = x + x0, high = (x - 1) + (x0 - 1);
        for (int k = -Shifts; k <= Shifts; k++)
        {
            yield return direct + 2 * k;
            yield return k <= 0 ? low + 2 * (-k) : high - 2 * (k - 1);
        }
    }

    public static double LogDensity(double x, double x0, double sigma)
    {
        var logits = Offsets(x, x0).Select(u => -0.5 * (u / sigma) * (u / sigma)).ToArray();
        double max = logits.Max();
        double sum = logits.Sum(l => Math.Exp(l - max));
        return max + Math.Log(sum) - Math.Log(sigma) - 0.5 * Math.Log(2 * Math.PI);
    }

    public static double Score(double x, double x0, double sigma)
    {
        var offsets = Offsets(x, x0).ToArray();
        var logits = offsets.Select(u => -0.5 * (u / sigma) * (u / sigma)).ToArray();
        double max = logits.Max();
        double num = 0, den = 0;
        for (int i = 0; i < offsets.Length; i++)
        {
            double w = Math.Exp(logits[i] - max);
            den += w;
            num += w * (-offsets[i] / (sigma * sigma));
        }
        return num / den;
    }
}
