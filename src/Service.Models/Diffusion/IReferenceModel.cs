namespace Service.Models.Diffusion;

/// <summary>
/// A data distribution simple enough that the optimal noise predictor ε*(x_n, n) = E[ε | x_n] and the posterior
/// covariance Cov[x₀ | x_n] are known in closed form. It stands in for a trained network when checking samplers,
/// variance estimators and trajectories against exact answers.
/// </summary>
public interface IReferenceModel : IEpsilonModel
{
    /// <summary>The preset name the service registers it under (e.g. gmm-2d), or a description.</summary>
    string Name { get; }

    /// <summary>Draws x₀ ~ q(x₀): <paramref name="count"/> rows, row-major [count, d].</summary>
    float[] Sample(Random random, int count);

    /// <summary>The exact diagonal of Cov[x₀ | x_n] [B, d] at each row of <paramref name="x"/> [B, d].</summary>
    void PosteriorCovarianceDiagonal(ReadOnlySpan<float> x, int n, Span<float> covariance);

    /// <summary>The same distribution whose <see cref="IEpsilonModel.Predict"/> also fills the given oracle head.</summary>
    IReferenceModel WithHead(CovarianceHead head);
}
