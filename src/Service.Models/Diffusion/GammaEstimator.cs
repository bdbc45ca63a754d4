using System.Numerics.Tensors;

namespace Service.Models.Diffusion;

/// <summary>
/// Monte Carlo estimate of Γ_n = E_{q(x_n)} ‖ε̂(x_n, n)‖² / d for every n = 1..N (Analytic-DPM, Bao et al. 2022, §3:
/// the only model statistic the analytic variance needs; computed once per model and reused for every K, trajectory
/// and process).
/// </summary>
/// <remarks>
/// <para>Γ_n ≈ (1/(M d)) Σ_m ‖ε̂(√ᾱ_n x₀^(m) + √β̄_n ε^(m,n), n)‖², one fresh ε ~ N(0, I) per data row m and timestep n,
/// as in the official code. M = 10–100 rows already give CIFAR-10 NLL within 0.002 bits/dim of M = 50,000.</para>
/// <para>Notation: data // x₀ [M, d]; alphaBar // ᾱ_n; betaBar // β̄_n; gamma // Γ [N + 1], index n.</para>
/// </remarks>
public static class GammaEstimator
{
    /// <param name="model">ε̂; its head, if any, is evaluated and ignored.</param>
    /// <param name="data">x₀ rows, row-major [M, d], d = <see cref="IEpsilonModel.Dimension"/>.</param>
    /// <param name="random">Source of the forward noise ε; the estimate is a deterministic function of its state.</param>
    /// <param name="batchSize">Rows per <see cref="IEpsilonModel.Predict"/> call.</param>
    /// <param name="progress">Reports n after Γ_n is done (1..N), e.g. for a progress bar.</param>
    /// <param name="cancellationToken">Checked once per timestep.</param>
    /// <param name="standardError">If given ([N + 1]): the Monte Carlo standard error of each Γ_n, sd_m(‖ε̂_m‖²/d)/√M.</param>
    /// <param name="firstStep">First n estimated; with <paramref name="lastStep"/>, a range of an estimate run in pieces
    /// (each piece with its own noise source) so that a long run can stop and resume.</param>
    /// <param name="lastStep">Last n estimated; null: N.</param>
    /// <returns>Γ [N + 1]: Γ_n at index n for n in the range, other indices 0.</returns>
    public static double[] Estimate(
        IEpsilonModel model,
        ReadOnlySpan<float> data,
        Random random,
        int batchSize = 256,
        IProgress<int>? progress = null,
        CancellationToken cancellationToken = default,
        double[]? standardError = null,
        int firstStep = 1,
        int? lastStep = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var d = model.Dimension;
        if (data.IsEmpty || data.Length % d != 0)
            throw new ArgumentException($"Data must be whole rows of d = {d} values; got {data.Length} values.", nameof(data));

        var rows = data.Length / d;
        var schedule = model.Schedule;
        var steps = schedule.Steps;
        var last = lastStep ?? steps;
        if (firstStep < 1 || last > steps || firstStep > last)
            throw new ArgumentOutOfRangeException(nameof(firstStep), $"The steps must satisfy 1 ≤ first ≤ last ≤ N = {steps}; got {firstStep}..{last}.");
        var batchRows = Math.Min(batchSize, rows);
        var noisy = new float[batchRows * d]; // x_n [B, d]
        var epsilon = new float[batchRows * d]; // ε̂ [B, d]
        var head = model.Head == CovarianceHead.None ? [] : new float[batchRows * d]; // discarded
        var gamma = new double[steps + 1];
        if (standardError is not null && standardError.Length != steps + 1)
            throw new ArgumentException($"The standard-error buffer needs N + 1 = {steps + 1} entries.", nameof(standardError));

        for (var n = firstStep; n <= last; n++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sqrtAlphaBar = (float)Math.Sqrt(schedule.AlphaBar(n)); // √ᾱ_n
            var sqrtBetaBar = (float)Math.Sqrt(schedule.BetaBar(n)); // √β̄_n
            var sumOfSquares = 0.0;
            double rowSum = 0, rowSumOfSquares = 0; // of s_m = ‖ε̂_m‖²/d, for the standard error
            for (var start = 0; start < rows; start += batchRows)
            {
                var count = Math.Min(batchRows, rows - start);
                var x = noisy.AsSpan(0, count * d);
                var predicted = epsilon.AsSpan(0, count * d);
                // x_n = √ᾱ_n x₀ + √β̄_n ε, a draw from q(x_n | x₀).
                GaussianNoise.Fill(random, x);
                TensorPrimitives.Multiply(x, sqrtBetaBar, x);
                TensorPrimitives.MultiplyAdd(data.Slice(start * d, count * d), sqrtAlphaBar, x, x);
                model.Predict(x, n, predicted, head.AsSpan(0, head.Length == 0 ? 0 : count * d));
                // Accumulate per batch in double: a float running sum over M·d terms would lose digits.
                sumOfSquares += TensorPrimitives.SumOfSquares<float>(predicted);
                if (standardError is not null)
                {
                    for (var i = 0; i < count; i++)
                    {
                        var value = (double)TensorPrimitives.SumOfSquares<float>(predicted.Slice(i * d, d)) / d;
                        rowSum += value;
                        rowSumOfSquares += value * value;
                    }
                }
            }
            gamma[n] = sumOfSquares / ((double)rows * d);
            if (standardError is not null)
            {
                var mean = rowSum / rows;
                standardError[n] = rows > 1 ? Math.Sqrt(Math.Max(0, rowSumOfSquares - rows * mean * mean) / (rows - 1) / rows) : double.NaN;
            }
            progress?.Report(n);
        }
        return gamma;
    }
}
