using Service.Training.Lm;

namespace Service.Tests.Lm;

public sealed class InContextTaskTests
{
    [Fact]
    public void The_target_is_the_label_a_demonstration_of_the_same_cluster_shows()
    {
        var task = new InContextTask(clusters: 8, perCluster: 3);
        var random = new Random(2);
        for (var trial = 0; trial < 200; trial++)
        {
            var sequence = task.Sample(random, 20);
            Assert.Equal(task.Begin, sequence.Tokens[0]);
            Assert.InRange(sequence.Tokens[^1], 0, task.Inputs - 1);
            Assert.Equal(1 + 2 * 20 + 1, sequence.Tokens.Length);
            Assert.All(sequence.Tokens, t => Assert.InRange(t, 0, task.Vocabulary - 1));
            var query = sequence.Tokens[^1];
            for (var i = 0; i < 20; i++)
            {
                var (x, y) = (sequence.Tokens[1 + 2 * i], sequence.Tokens[2 + 2 * i]);
                Assert.Equal(y, sequence.Labels[i]);
                Assert.Equal(sequence.Tokens[sequence.LabelPositions[i] + 1], y);
                if (x % task.Clusters == query % task.Clusters)
                    Assert.Equal(sequence.Target, y);
            }
            Assert.Equal(sequence.Target, sequence.Labels[^1]);
        }
    }

    [Fact]
    public void Label_assignments_change_from_sequence_to_sequence()
    {
        var task = new InContextTask(clusters: 8, perCluster: 1);
        var random = new Random(3);
        var labelsOfInputZero = Enumerable.Range(0, 100)
            .Select(_ => task.Sample(random, 40))
            .SelectMany(s => Enumerable.Range(0, 40).Where(i => s.Tokens[1 + 2 * i] == 0).Select(i => s.Labels[i]).Take(1))
            .Distinct().Count();
        Assert.True(labelsOfInputZero >= 6, $"input 0 got only {labelsOfInputZero} distinct labels over 100 sequences");
    }

    [Fact]
    public void Chunks_fit_the_window_and_carry_every_demonstration_once_with_the_same_query()
    {
        var task = new InContextTask();
        var (chunks, prior) = task.SampleChunked(new Random(4), demonstrations: 128, window: 128);

        Assert.Equal(63, InContextTask.DemonstrationsPerWindow(128));
        Assert.Equal(3, chunks.Length); // 63 + 63 + 2
        Assert.All(chunks, c => Assert.InRange(c.Tokens.Length, 2, 128));
        Assert.Equal(128, chunks.Sum(c => c.Labels.Length - 1));
        Assert.All(chunks, c => Assert.Equal(prior.Tokens[^1], c.Tokens[^1]));
        Assert.All(chunks, c => Assert.Equal(prior.Target, c.Target));
        Assert.Equal(2, prior.Tokens.Length);
    }

    [Fact]
    public void A_bursty_sequence_draws_its_inputs_and_query_from_that_many_clusters()
    {
        var task = new InContextTask(clusters: 16, perCluster: 2);
        var random = new Random(5);
        for (var trial = 0; trial < 100; trial++)
        {
            var sequence = task.Sample(random, 30, burst: 3);
            var inputs = Enumerable.Range(0, 30).Select(i => sequence.Tokens[1 + 2 * i]).Append(sequence.Tokens[^1]).ToArray();
            Assert.All(inputs, x => Assert.InRange(x, 0, task.Inputs - 1));
            Assert.InRange(inputs.Select(x => x % task.Clusters).Distinct().Count(), 1, 3);
        }
    }
}
