namespace Service.Models.Serving;

/// <summary>How much one worker may batch and queue.</summary>
/// <param name="MaxBatchTokens">Token budget of one batch; also the padded size (rows × longest row) of one model call.</param>
/// <param name="MaxBatchSequences">Most sequences in one model call.</param>
/// <param name="QueueCapacity">Jobs waiting for the worker; beyond it callers are told to retry.</param>
public sealed record BatchingLimits(int MaxBatchTokens = 16384, int MaxBatchSequences = 64, int QueueCapacity = 256);
