namespace Service.Models.Diffusion;

/// <summary>
/// The forward process q(x_n | x_0) = N(√ᾱ_n x_0, β̄_n I) for n = 0..N, with ᾱ_0 = 1.
/// </summary>
/// <remarks>
/// Notation (Bao et al., 2022): alphaBar[n] // ᾱ_n = Π_{i≤n} α_i; betaBar // β̄_n = 1 − ᾱ_n;
/// for s &lt; t: alphaTS // α_{t|s} = ᾱ_t/ᾱ_s; betaTS // β_{t|s} = 1 − α_{t|s};
/// betaTildeST // β̃_{s|t} = β_{t|s} β̄_s / β̄_t, the variance of q(x_s | x_t, x_0).
/// </remarks>
public sealed class NoiseSchedule
{
    readonly double[] alphaBar; // [N + 1]

    NoiseSchedule(string name, double[] alphaBar)
    {
        Name = name;
        this.alphaBar = alphaBar;
    }

    public string Name { get; }

    /// <summary>N, the number of forward steps.</summary>
    public int Steps => alphaBar.Length - 1;

    /// <summary>Linear β_n from β_1 to β_N, scaled by 1000/N so that any N matches DDPM's N = 1000 process.</summary>
    public static NoiseSchedule Linear(int steps, double betaStart = 1e-4, double betaEnd = 0.02)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var scale = 1000.0 / steps;
        var alphaBar = new double[steps + 1];
        alphaBar[0] = 1;
        for (var n = 1; n <= steps; n++)
        {
            var beta = scale * (betaStart + (betaEnd - betaStart) * (steps == 1 ? 0 : (n - 1) / (double)(steps - 1)));
            if (beta >= 1)
                throw new ArgumentOutOfRangeException(nameof(steps), steps, $"The scaled linear schedule needs β_n < 1; N = {steps} gives β_{n} = {beta:0.###}. Use more steps or the cosine schedule.");
            alphaBar[n] = alphaBar[n - 1] * (1 - beta);
        }
        return new NoiseSchedule("linear", alphaBar);
    }

    /// <summary>Cosine schedule (Nichol &amp; Dhariwal, 2021): ᾱ(t) = f(t)/f(0), f(t) = cos²((t/N + 0.008)/1.008 · π/2), β_n ≤ 0.999.</summary>
    public static NoiseSchedule Cosine(int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        static double F(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);
        var alphaBar = new double[steps + 1];
        alphaBar[0] = 1;
        for (var n = 1; n <= steps; n++)
        {
            var beta = Math.Min(1 - F(n / (double)steps) / F((n - 1) / (double)steps), 0.999);
            alphaBar[n] = alphaBar[n - 1] * (1 - beta);
        }
        return new NoiseSchedule("cosine", alphaBar);
    }

    public static NoiseSchedule Create(string name, int steps) => name switch
    {
        "linear" => Linear(steps),
        "cosine" => Cosine(steps),
        _ => throw new ArgumentException($"Unknown schedule '{name}'; use linear or cosine.", nameof(name)),
    };

    /// <summary>ᾱ_n.</summary>
    public double AlphaBar(int n) => alphaBar[n];

    /// <summary>β̄_n = 1 − ᾱ_n.</summary>
    public double BetaBar(int n) => 1 - alphaBar[n];

    /// <summary>α_{t|s} = ᾱ_t / ᾱ_s.</summary>
    public double AlphaTS(int s, int t) => alphaBar[t] / alphaBar[s];

    /// <summary>β_{t|s} = 1 − α_{t|s}.</summary>
    public double BetaTS(int s, int t) => 1 - AlphaTS(s, t);

    /// <summary>β̃_{s|t} = β_{t|s} β̄_s / β̄_t.</summary>
    public double BetaTildeST(int s, int t) => BetaTS(s, t) * BetaBar(s) / BetaBar(t);
}
