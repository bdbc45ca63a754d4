namespace Service.Index;

/// <summary>A bi-encoder: one unit vector per text, for the de-rerank baseline's first stage.</summary>
public interface ITextEmbedder
{
    int Dimensions { get; }

    /// <returns>One L2-normalised vector [<see cref="Dimensions"/>] per text, in order.</returns>
    Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken);
}
