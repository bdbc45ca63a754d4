using System.Numerics.Tensors;
using System.Text.Json;
using Service.Models.Text;
using Service.Models.Text.Torch;

namespace Service.Cli.Text.Training;

/// <summary>
/// The base bi-encoder's nearest items to each query inside the query's own domain (gold excluded): the negatives a
/// cross-encoder meets when it re-ranks that bi-encoder's top k. Mined once per split and depth, cached as JSON
/// (query id → item ids, nearest first) under data/text/mined/.
/// </summary>
public static class MinedNegatives
{
    public static IReadOnlyDictionary<string, string[]> LoadOrMine(
        string cacheDirectory, string split, int depth, List<TextData.QueryLine> queries, List<TextData.ItemLine> items, Func<TextScorer> baseScorer)
    {
        var path = Path.Combine(cacheDirectory, $"{split}-top{depth}.json");
        if (File.Exists(path))
            return JsonSerializer.Deserialize<Dictionary<string, string[]>>(File.ReadAllText(path))!;

        var scorer = baseScorer();
        var d = scorer.Dimension;
        var itemVectors = scorer.Embed(items.Select(i => i.Text).ToList()); // [I, D], unit rows
        var queryVectors = scorer.Embed(queries.Select(q => q.Text).ToList()); // [Q, D]
        var byDomain = items.Select((item, index) => (item, index)).GroupBy(x => x.item.LexName)
            .ToDictionary(g => g.Key, g => g.Select(x => x.index).ToArray());
        var mined = new Dictionary<string, string[]>(StringComparer.Ordinal);
        for (var q = 0; q < queries.Count; q++)
        {
            var members = byDomain[queries[q].LexName];
            var sims = new float[members.Length];
            for (var m = 0; m < members.Length; m++)
                sims[m] = TensorPrimitives.Dot(queryVectors.AsSpan(q * d, d), itemVectors.AsSpan(members[m] * d, d));
            mined[queries[q].Id] = members.Zip(sims).Where(x => items[x.First].Id != queries[q].Gold)
                .OrderByDescending(x => x.Second).Take(depth).Select(x => items[x.First].Id).ToArray();
        }
        Directory.CreateDirectory(cacheDirectory);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(mined));
        File.Move(path + ".tmp", path, overwrite: true);
        return mined;
    }
}
