namespace Service.Cli.Text;

/// <summary>
/// Extra training queries from WordNet's own definitions: a definition names its synset's hypernym most of the time
/// (genus and differentia: poodle, "an intelligent «dog» with a thick curly solid-colored coat"), so the hypernym's
/// lemma, marked in the hyponym's definition, is a sense-tagged context whose gold is the hypernym. The same idea as
/// the manually tagged Princeton WordNet Gloss Corpus, done with the hypernym pointers instead of annotators.
/// </summary>
/// <remarks>
/// Only pairs whose hyponym and hypernym lie in the same split are kept, with hard negatives restricted to that split
/// as for <see cref="WordNetBenchmark"/>'s queries, so no dev or test synset enters training. Id: gold id + "@" + the
/// hyponym's id.
/// </remarks>
public static class GlossQueries
{
    public static IEnumerable<BenchmarkQuery> Build(WordNetDatabase database, string split)
    {
        foreach (var hyponym in database.Synsets.Where(s => s.Definition.Length > 0 && WordNetSplits.Of(s.LexName) == split))
        {
            foreach (var id in hyponym.Hypernyms.Distinct())
            {
                if (database.Find(id) is not { } hypernym || WordNetSplits.Of(hypernym.LexName) != split
                    || LemmaMarker.Mark(hyponym.Definition, hypernym.Lemmas) is not { } marked)
                    continue;
                var negatives = database.Senses(marked.Lemma)
                    .Where(sense => sense.Id != hypernym.Id && WordNetSplits.Of(sense.LexName) == split).Select(sense => sense.Id).ToList();
                yield return new BenchmarkQuery($"{hypernym.Id}@{hyponym.Id}", marked.Text, marked.Lemma, hypernym.Id, negatives, hypernym.LexName, split);
            }
        }
    }
}
