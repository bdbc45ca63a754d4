namespace Service.Cli.Text.Training;

/// <summary>How many negatives of each kind a training query gets, and how often its « » marks are removed.</summary>
/// <param name="Hard">Other senses of the marked lemma (at most).</param>
/// <param name="Mined">Drawn from the base bi-encoder's top <c>MinedDepth</c> of the query's domain.</param>
/// <param name="Random">Uniform over the query's domain.</param>
/// <param name="UnmarkProbability">Chance that the query is shown without its « » marks, as users type it.</param>
public sealed record NegativeMix(int Hard, int Mined, int Random, double UnmarkProbability);

/// <summary>A training query's candidate list: the gold item first, then its negatives, all distinct.</summary>
public sealed record CandidateList(string Query, IReadOnlyList<string> Items)
{
    public const int Gold = 0;
}

/// <summary>
/// Draws each step's candidate lists over every training query: the gold item, then negatives of three kinds — other
/// senses of the lemma (what a senses ranking asks), the base bi-encoder's nearest domain items (what a re-ranking
/// of its top k asks) and random domain items (what CUR's anchors and the rest of an index look like).
/// </summary>
public sealed class CandidateSampler
{
    readonly List<TextData.QueryLine> queries;
    readonly Dictionary<string, TextData.ItemLine> items;
    readonly Dictionary<string, string[]> domains;
    readonly IReadOnlyDictionary<string, string[]> mined;
    readonly NegativeMix mix;

    public CandidateSampler(List<TextData.QueryLine> queries, List<TextData.ItemLine> items, IReadOnlyDictionary<string, string[]> mined, NegativeMix mix)
    {
        this.queries = queries;
        this.items = items.ToDictionary(i => i.Id, StringComparer.Ordinal);
        domains = items.GroupBy(i => i.LexName).ToDictionary(g => g.Key, g => g.Select(i => i.Id).ToArray());
        this.mined = mined;
        this.mix = mix;
    }

    public int QueryCount => queries.Count;

    /// <summary><paramref name="count"/> queries drawn uniformly, each with its candidates; all randomness from <paramref name="random"/>.</summary>
    public List<CandidateList> Draw(int count, Random random)
    {
        var lists = new List<CandidateList>(count);
        for (var n = 0; n < count; n++)
        {
            var query = queries[random.Next(queries.Count)];
            var chosen = new List<string> { query.Gold };
            void Add(IEnumerable<string> ids, int take)
            {
                foreach (var id in ids.Where(id => !chosen.Contains(id)).Take(take).ToList())
                    chosen.Add(id);
            }
            Add(Shuffled(query.Negatives.Where(items.ContainsKey), random), mix.Hard);
            Add(Shuffled(mined.TryGetValue(query.Id, out var near) ? near : [], random), mix.Mined);
            var domain = domains[query.LexName];
            Add(Enumerable.Range(0, 4 * mix.Random).Select(_ => domain[random.Next(domain.Length)]), mix.Random);
            var text = random.NextDouble() < mix.UnmarkProbability ? Unmarked(query.Text) : query.Text;
            lists.Add(new CandidateList(text, chosen.Select(id => items[id].Text).ToList()));
        }
        return lists;
    }

    /// <summary>The query as a user would type it: the benchmark's « » marks around the target word removed.</summary>
    public static string Unmarked(string query) => query.Replace("«", "", StringComparison.Ordinal).Replace("»", "", StringComparison.Ordinal);

    static IEnumerable<string> Shuffled(IEnumerable<string> ids, Random random) => ids.OrderBy(_ => random.Next()).ToList();
}
