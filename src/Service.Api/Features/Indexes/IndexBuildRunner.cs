using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Index;
using Service.Models.Errors;
using Service.Models.Text;

namespace Service.Api.Features.Indexes;

/// <summary>
/// Index builds: accepted into a queue with a job file each (<see cref="IndexBuildJobStore"/>), queued again after a
/// restart, and run one at a time by <see cref="IndexWorker"/>: R = CE(anchor queries × items) shard by shard, the
/// file, the embeddings, then ready.
/// </summary>
public sealed class IndexBuildRunner(
    IndexCatalog catalog, IndexLoader loader, IndexBuildJobStore jobStore, IOptions<IndexesOptions> options, ILogger<IndexBuildRunner> logger)
{
    /// <summary>A build is no request: when the model's queue is full it waits this long and retries instead of failing.</summary>
    static readonly TimeSpan OverloadedRetry = TimeSpan.FromMilliseconds(250);

    readonly Channel<IndexBuildJob> jobs = Channel.CreateUnbounded<IndexBuildJob>(new UnboundedChannelOptions { SingleReader = true });

    internal ChannelReader<IndexBuildJob> Jobs => jobs.Reader;

    /// <summary>Queues a build. 409 while an index of that name exists; a failed one may be built again (the same inputs resume from its checkpoint).</summary>
    public IndexEntry Enqueue(string name, string model, IndexItem[] items, string[] anchorQueries, ScoreType storedAs)
    {
        var job = new IndexBuildJob(Guid.NewGuid().ToString("N"), name, model, items, anchorQueries, storedAs);
        var entry = catalog.Claim(name, () =>
        {
            jobStore.Save(job);
            var entry = new IndexEntry(name, catalog.PathOf(name));
            entry.Queue(job);
            return entry;
        });
        jobs.Writer.TryWrite(job);
        return entry;
    }

    /// <summary>After the start's files are loaded: the builds a shutdown interrupted, queued again to resume from their checkpoints.</summary>
    public void RequeueInterrupted()
    {
        foreach (var (file, job, error) in jobStore.ReadAll())
        {
            if (job is null)
            {
                logger.LogError("Interrupted build {File} cannot be read and is not resumed: {Reason}", file, error);
                continue;
            }
            var entry = new IndexEntry(job.Name, catalog.PathOf(job.Name));
            entry.Queue(job);
            if (!catalog.TryAdd(entry))
            {
                if (catalog.TryGet(job.Name, out var existing) && existing.State.JobId != job.Id)
                    File.Delete(file); // its index was written before the job file could be removed
                continue;
            }
            jobs.Writer.TryWrite(job);
            logger.LogInformation("Build of index {Index} was interrupted; queued again, it resumes from its checkpoint", job.Name);
        }
    }

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
            jobStore.Delete(job.Name);
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
