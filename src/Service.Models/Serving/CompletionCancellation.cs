namespace Service.Models.Serving;

public static class CompletionCancellation
{
    /// <summary>
    /// The caller stops waiting as soon as <paramref name="token"/> fires; the worker still finds the job in its
    /// queue and drops it there. The registration is released once the task completes either way.
    /// </summary>
    public static void CancelWith<T>(this TaskCompletionSource<T> completion, CancellationToken token)
    {
        if (!token.CanBeCanceled)
            return;
        var registration = token.Register(() => completion.TrySetCanceled(token));
        completion.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
    }
}
