using Microsoft.Extensions.Options;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Index;
using Service.Models.Errors;
using Service.Models.Text;

namespace Service.Api.Features.Indexes;

/// <summary>Runs one queued build: R = CE(anchor queries × items) shard by shard, the file, the embeddings, then ready.</summary>
public sealed class IndexBuildRunner(IndexCatalog catalog, IndexLoader loader, IOptions<IndexesOptions> options, ILogger<IndexBuildRunner> logger)
{
    /// <summary>A build is no request: when the model's queue is full it waits this long and retries instead of failing.</summary>
    static readonly TimeSpan OverloadedRetry = TimeSpan.FromMilliseconds(250);

    public async Task BuildAsync(IndexBuildJob job, CancellationToken stopping)
    {
        var entry = catalog.Get(job.Name);
        entry.Report(new AnchorIndexBuildProgress(0, job.Items.Length, job.AnchorQueries.Length));
        try
        {
            var model = await loader.CrossEncoderAsync(job.Model, stopping);
            var scorer = new CrossEncoderScorer(model);
            var builder = new AnchorIndexBuilder(new RetryWhenOverloaded(scorer)) { ShardSize = options.Value.ShardSize };
            var index = await builder.BuildAsync(scorer.BuildRequest(job.AnchorQueries, job.Items, job.StoredAs), entry.Path, entry, stopping);
            var host = new AnchorIndexHost(scorer.ModelHash);
            host.Replace(index);
            await loader.ServeAsync(entry, host, model, stopping);
            logger.LogInformation("Index {Index} built: {Items} items × {Queries} anchor queries", job.Name, job.Items.Length, job.AnchorQueries.Length);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return; // the job file stays: the next start queues the build again and it resumes from its checkpoint
        }
        catch (Exception e)
        {
            // Whatever stopped this build (the model, the disk, a score float16 cannot hold) fails only this index.
            logger.LogError(e, "Build of index {Index} failed", job.Name);
            entry.Fail(e.Message);
        }
        try
        {
            catalog.JobStore.Delete(job.Name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Job file of index {Index} could not be removed: {Reason}", job.Name, e.Message);
        }
    }

    /// <summary>The build's scorer waits out a full model queue (shared with /rerank and searches) instead of failing.</summary>
    sealed class RetryWhenOverloaded(ICrossEncoderScorer inner) : ICrossEncoderScorer
    {
        public async Task<float[]> ScoreAsync(string query, IReadOnlyList<string> items, CancellationToken cancellationToken)
        {
            while (true)
            {
                try
                {
                    return await inner.ScoreAsync(query, items, cancellationToken);
                }
                catch (ServiceException e) when (e.Kind == ServiceErrorKind.Overloaded)
                {
                    await Task.Delay(OverloadedRetry, cancellationToken);
                }
            }
        }
    }
}
