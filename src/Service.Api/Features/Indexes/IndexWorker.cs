namespace Service.Api.Features.Indexes;

/// <summary>
/// Loads the index files after start (off the start-up path, as <c>ModelLoader</c> loads models), then runs the queued builds one
/// at a time: a build saturates its cross-encoder's worker, so a second one would only queue behind it. Shutdown cancels the
/// running build between CE calls; its checkpoint and job file let the next start resume it.
/// </summary>
internal sealed class IndexWorker(IndexLoader loader, IndexBuildRunner runner) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(async () =>
    {
        await loader.LoadFilesAsync(stoppingToken);
        runner.RequeueInterrupted();
        await foreach (var job in runner.Jobs.ReadAllAsync(stoppingToken))
            await runner.BuildAsync(job, stoppingToken);
    }, stoppingToken);
}
