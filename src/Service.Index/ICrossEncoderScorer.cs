namespace Service.Index;

/// <summary>
/// A cross-encoder s(q, x): one joint forward pass per (query, item) pair. Implementations batch the items of a call as
/// their model allows; the index counts one CE call per item passed.
/// </summary>
public interface ICrossEncoderScorer
{
    /// <returns>s(query, items[j]) for every j, in order [items.Count].</returns>
    Task<float[]> ScoreAsync(string query, IReadOnlyList<string> items, CancellationToken cancellationToken);
}

/// <summary>An item to index: a caller-chosen unique id and the text the cross-encoder scores.</summary>
public sealed record IndexItem(string Id, string Text);

/// <summary>A search hit with its exact cross-encoder score.</summary>
public sealed record ScoredItem(string Id, string Text, float Score);
