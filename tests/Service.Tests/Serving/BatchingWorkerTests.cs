using Service.Models.Errors;
using Service.Models.Runtime;
using Service.Models.Serving;
using Service.Models.Text;
using Service.Tests.Fixtures;

namespace Service.Tests.Serving;

/// <summary>
/// The worker around the real ONNX encoder. A recording wrapper holds the first model call until released,
/// so the queue can be filled deterministically while the model is busy.
/// </summary>
[Collection(MiniLmCollection.Name)]
public sealed class BatchingWorkerTests(MiniLmFixture fixture)
{
    int[] Ids(string text) => fixture.Tokenizer.Encode(text, truncate: false).Ids;

    [Fact]
    public async Task A_job_whose_caller_went_away_never_reaches_the_model()
    {
        using var model = new RecordingModel(new OnnxSentenceEncoder(fixture.ModelPath, new ExecutionDevice(ExecutionDevice.Cpu)), holdFirstCall: true);
        using var worker = new BatchingWorker("test", model, new BatchingLimits());
        using var caller = new CancellationTokenSource();

        var first = worker.SubmitAsync([Ids("first job")], CancellationToken.None);
        await model.FirstCallStarted.Task;
        var abandoned = worker.SubmitAsync([Ids("abandoned by its client")], caller.Token);
        var last = worker.SubmitAsync([Ids("last job")], CancellationToken.None);
        caller.Cancel();
        model.Release();

        await first;
        await last;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.DoesNotContain(model.Calls.SelectMany(c => c), ids => ids.SequenceEqual(Ids("abandoned by its client")));
        Assert.Equal(2, model.Calls.Count);
    }

    [Fact]
    public async Task A_batch_that_cannot_be_assembled_fails_its_jobs_and_the_worker_serves_on()
    {
        using var worker = new BatchingWorker("test", new OnnxSentenceEncoder(fixture.ModelPath, new ExecutionDevice(ExecutionDevice.Cpu)), new BatchingLimits());

        // Token types that do not match their ids cannot be padded: assembling the batch throws, on the batcher's thread or the model's.
        var broken = worker.SubmitAsync([Ids("a broken job")], [new int[1]], CancellationToken.None);
        var error = await Assert.ThrowsAsync<ServiceException>(() => broken);
        var after = await worker.SubmitAsync([Ids("the next job")], CancellationToken.None);

        Assert.Equal(ServiceErrorKind.InferenceFailed, error.Kind);
        Assert.Single(after.Outputs);
    }

    [Fact]
    public async Task Queued_jobs_share_a_length_sorted_batch_and_get_their_own_rows_back()
    {
        using var model = new RecordingModel(new OnnxSentenceEncoder(fixture.ModelPath, new ExecutionDevice(ExecutionDevice.Cpu)), holdFirstCall: true);
        using var worker = new BatchingWorker("test", model, new BatchingLimits());
        string[] texts = ["a much longer sentence about guitars, music and evening concerts", "short", "a medium sentence about music"];

        var blocker = worker.SubmitAsync([Ids("blocker")], CancellationToken.None);
        await model.FirstCallStarted.Task;
        var jobs = texts.Select(t => worker.SubmitAsync([Ids(t)], CancellationToken.None)).ToArray();
        model.Release();
        await blocker;
        var results = await Task.WhenAll(jobs);

        var merged = Assert.Single(model.Calls.Skip(1));
        Assert.Equal(3, merged.Length);
        Assert.True(merged[0].Length <= merged[1].Length && merged[1].Length <= merged[2].Length, "rows are sorted by length");
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = await worker.SubmitAsync([Ids(texts[i])], CancellationToken.None);
            Assert.Equal(3, results[i].Timings.BatchSequences);
            for (var d = 0; d < alone.Outputs[0].Length; d++)
                Assert.Equal(alone.Outputs[0][d], results[i].Outputs[0][d], 1e-5f);
        }
    }

    [Fact]
    public async Task Model_calls_stay_within_the_padded_token_and_sequence_budgets()
    {
        using var model = new RecordingModel(new OnnxSentenceEncoder(fixture.ModelPath, new ExecutionDevice(ExecutionDevice.Cpu)), holdFirstCall: false);
        var limits = new BatchingLimits(MaxBatchTokens: 64, MaxBatchSequences: 3, QueueCapacity: 16);
        using var worker = new BatchingWorker("test", model, limits);
        var sequences = Enumerable.Range(1, 10).Select(n => Ids(string.Join(' ', Enumerable.Repeat("word", n)))).ToArray();

        var result = await worker.SubmitAsync(sequences, CancellationToken.None);

        Assert.Equal(10, result.Outputs.Length);
        Assert.All(model.Calls, call =>
        {
            Assert.True(call.Length <= 3);
            Assert.True(call.Length * call.Max(s => s.Length) <= 64);
        });
        Assert.Equal(10, model.Calls.Sum(c => c.Length));
    }

    [Fact]
    public async Task Merged_batches_are_split_where_padding_would_waste_more_than_the_limit()
    {
        using var model = new RecordingModel(new OnnxSentenceEncoder(fixture.ModelPath, new ExecutionDevice(ExecutionDevice.Cpu)), holdFirstCall: false);
        var limits = new BatchingLimits(MaxPaddingFraction: 0.2, MinCallSequences: 4);
        using var worker = new BatchingWorker("test", model, limits);
        // 40 sequences of 3 to 42 tokens, submitted shuffled in one job.
        var sequences = Enumerable.Range(1, 40).Select(n => Ids(string.Join(' ', Enumerable.Repeat("word", n))))
            .OrderBy(ids => (ids.Length * 7919) % 41).ToArray();

        var result = await worker.SubmitAsync(sequences, CancellationToken.None);

        Assert.True(model.Calls.Count > 1, "one padded call of 40 rows would waste about half its tokens");
        Assert.All(model.Calls.Where(call => call.Length > limits.MinCallSequences), call =>
        {
            var padded = call.Length * call.Max(s => s.Length);
            var waste = 1 - (double)call.Sum(s => s.Length) / padded;
            Assert.True(waste <= 0.2, $"{call.Length} rows waste {waste:P0}");
        });
        for (var i = 0; i < sequences.Length; i++)
        {
            var alone = await worker.SubmitAsync([sequences[i]], CancellationToken.None);
            for (var d = 0; d < alone.Outputs[0].Length; d++)
                Assert.Equal(alone.Outputs[0][d], result.Outputs[i][d], 1e-5f);
        }
    }

    [Fact]
    public async Task A_full_queue_is_refused_at_once_as_overloaded()
    {
        using var model = new RecordingModel(new OnnxSentenceEncoder(fixture.ModelPath, new ExecutionDevice(ExecutionDevice.Cpu)), holdFirstCall: true);
        using var worker = new BatchingWorker("test", model, new BatchingLimits(MaxBatchSequences: 1, QueueCapacity: 1));

        var running = worker.SubmitAsync([Ids("running")], CancellationToken.None);
        await model.FirstCallStarted.Task;
        // While the model is held, the worker holds one job in its next batch (MaxBatchSequences 1) and one in the queue.
        // Whether the batch has already taken the first of them is a race, so the refusal comes at the second or third
        // submission, never later and never by blocking.
        var accepted = new List<Task<JobResult>>();
        ServiceException? refused = null;
        for (var i = 0; i < 3 && refused is null; i++)
        {
            try
            {
                accepted.Add(worker.SubmitAsync([Ids($"waiting {i}")], CancellationToken.None));
            }
            catch (ServiceException e)
            {
                refused = e;
            }
        }

        Assert.Equal(ServiceErrorKind.Overloaded, Assert.IsType<ServiceException>(refused).Kind);
        Assert.InRange(accepted.Count, 1, 2);
        model.Release();
        await Task.WhenAll([running, .. accepted]);
    }

    /// <summary>Passes every call to the real model and records the sequences it saw.</summary>
    sealed class RecordingModel(IBatchModel inner, bool holdFirstCall) : IBatchModel
    {
        readonly ManualResetEventSlim gate = new(!holdFirstCall);

        public List<int[][]> Calls { get; } = [];
        public TaskCompletionSource FirstCallStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int OutputSize => inner.OutputSize;

        public void Release() => gate.Set();

        public void Run(PaddedBatch batch, Span<float> output)
        {
            lock (Calls)
                Calls.Add([.. Enumerable.Range(0, batch.Batch).Select(b => batch.Ids.AsSpan(b * batch.Width, batch.Lengths[b]).ToArray().Select(id => (int)id).ToArray())]);
            FirstCallStarted.TrySetResult();
            gate.Wait(TimeSpan.FromMinutes(1));
            inner.Run(batch, output);
        }

        public void Dispose()
        {
            inner.Dispose();
            gate.Dispose();
        }
    }
}
