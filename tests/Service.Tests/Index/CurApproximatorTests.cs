using Service.Index;

namespace Service.Tests.Index;

public sealed class CurApproximatorTests
{
    const int Rank = 6;
    const int AnchorQueries = 10;
    const int TestQueries = 20;
    const int ItemCount = 300;

    readonly SyntheticScorer scorer = new(AnchorQueries + TestQueries, ItemCount, Rank, noise: 0, seed: 11);

    [Fact]
    public void An_exactly_low_rank_score_matrix_is_reproduced_exactly()
    {
        // rank(S) = r ≤ k_i and k_q ≥ r: the anchor columns span R's row space and R's rows span every query's score row.
        var scores = new MatrixRows(scorer.Rows(0, AnchorQueries, ItemCount), ItemCount);
        var approximator = new CurApproximator(scores, [.. Enumerable.Range(0, 8).Select(j => 37 * j + 5)], PseudoInverse.DefaultRelativeCutoff(AnchorQueries, 8, ScoreType.Float32));
        Assert.Equal(Rank, approximator.Rank);

        var worst = 0f;
        for (var query = AnchorQueries; query < AnchorQueries + TestQueries; query++)
        {
            var c = approximator.Anchors.Select(item => scorer.Score(query, item)).ToArray();
            var sHat = new float[ItemCount];
            approximator.Approximate(c, sHat);

            var weights = new float[AnchorQueries];
            CurApproximator.Weights(c, approximator.U, weights);
            var viaRows = new float[ItemCount];
            CurApproximator.Combine(weights, scores, 0, viaRows);

            for (var item = 0; item < ItemCount; item++)
            {
                worst = Math.Max(worst, Math.Abs(sHat[item] - scorer.Score(query, item)));
                worst = Math.Max(worst, Math.Abs(viaRows[item] - scorer.Score(query, item)));
            }
        }
        Assert.True(worst < 1e-4f, $"max |ŝ − s| = {worst}");
    }

    [Fact]
    public void Without_the_relative_cutoff_the_rounding_of_R_swamps_the_approximation()
    {
        // The same case with rcond = 1e-15 (np.linalg.pinv's legacy default) inverts the float32 rounding in the two surplus
        // singular values of R[:, anchors]; measured max |ŝ − s| ≈ 19 against ≈ 2e-6 with the default cutoff.
        var scores = new MatrixRows(scorer.Rows(0, AnchorQueries, ItemCount), ItemCount);
        var approximator = new CurApproximator(scores, [.. Enumerable.Range(0, 8).Select(j => 37 * j + 5)], 1e-15);
        Assert.Equal(8, approximator.Rank);

        var worst = 0f;
        for (var query = AnchorQueries; query < AnchorQueries + TestQueries; query++)
        {
            var sHat = new float[ItemCount];
            approximator.Approximate([.. approximator.Anchors.Select(item => scorer.Score(query, item))], sHat);
            for (var item = 0; item < ItemCount; item++)
                worst = Math.Max(worst, Math.Abs(sHat[item] - scorer.Score(query, item)));
        }
        Assert.True(worst > 1e-2f, $"max |ŝ − s| = {worst}");
    }

    [Fact]
    public void Appended_items_get_the_embeddings_a_full_rebuild_gives()
    {
        var rows = scorer.Rows(0, AnchorQueries, ItemCount);
        int[] anchors = [3, 50, 77, 120, 160, 199, 210, 240];
        var cutoff = PseudoInverse.DefaultRelativeCutoff(AnchorQueries, anchors.Length, ScoreType.Float32);
        var growing = new ColumnAppendMatrix([.. rows.Select(row => row[..250])], 250);
        var approximator = new CurApproximator(growing.Current, anchors, cutoff);

        var added = new float[AnchorQueries * 50];
        for (var t = 0; t < AnchorQueries; t++)
            rows[t].AsSpan(250, 50).CopyTo(added.AsSpan(t * 50));
        growing.AppendColumns(added, 50);
        approximator.AppendItems(growing.Current);
        var rebuilt = new CurApproximator(new MatrixRows(rows, ItemCount), anchors, cutoff);

        Assert.Equal(ItemCount, approximator.ItemCount);
        for (var j = 0; j < anchors.Length; j++)
            for (var item = 0; item < ItemCount; item++)
                Assert.Equal(rebuilt.Embeddings[j, item], approximator.Embeddings[j, item], 1e-5f);
    }

    [Fact]
    public void Each_row_of_E_is_that_row_of_U_times_R()
    {
        var scores = new MatrixRows(scorer.Rows(0, AnchorQueries, ItemCount), ItemCount);
        var approximator = new CurApproximator(scores, [1, 2, 3, 4, 5, 6, 7], 1e-6);

        for (var j = 0; j < 7; j++)
            for (var item = 0; item < ItemCount; item += 17)
            {
                var expected = 0.0;
                for (var t = 0; t < AnchorQueries; t++)
                    expected += approximator.U[j * AnchorQueries + t] * scores[t, item];
                Assert.Equal(expected, approximator.Embeddings[j, item], 1e-4);
            }
    }
}
