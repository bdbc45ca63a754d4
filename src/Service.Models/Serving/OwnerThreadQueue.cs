using System.Threading.Channels;

namespace Service.Models.Serving;

/// <summary>
/// A bounded queue drained by one dedicated owner thread: the thread a model's native state belongs to (an ONNX session's
/// runs, TorchSharp's modules), which never runs on the thread pool or across an await. Producers fail fast when it is full.
/// Text models batch from it (<see cref="BatchingWorker"/>), diffusion models run its jobs one by one.
/// </summary>
public sealed class OwnerThreadQueue<TJob> : IDisposable
{
    readonly Channel<TJob> channel;
    readonly Thread owner;

    /// <param name="drain">Called on the owner thread whenever jobs are waiting; it takes what it can handle and returns.</param>
    public OwnerThreadQueue(string threadName, int capacity, Action<ChannelReader<TJob>> drain)
    {
        channel = Channel.CreateBounded<TJob>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait });
        owner = new Thread(() =>
        {
            // A dedicated thread may block: the model must never run on a thread-pool thread across an await.
            while (channel.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                drain(channel.Reader);
        }) { IsBackground = true, Name = threadName };
        owner.Start();
    }

    /// <summary>The waiting jobs; readers other than the owner (a batch assembler) may peek and take under their own lock.</summary>
    public ChannelReader<TJob> Reader => channel.Reader;

    public int Count => channel.Reader.Count;

    /// <returns>false when <c>capacity</c> jobs are already waiting.</returns>
    public bool TryWrite(TJob job) => channel.Writer.TryWrite(job);

    /// <summary>Lets the owner finish what is queued, then waits for its thread to end.</summary>
    public void Dispose()
    {
        channel.Writer.TryComplete();
        owner.Join();
    }
}
