namespace Evergreen.Sync;

/// <summary>
/// A get gave up: the queue stayed empty for the whole timeout (Evergreen's <c>queue.Empty</c>).
/// No item was taken. <see cref="AsyncQueueBase{T}.TryGet"/> reports the same with false. A
/// <see cref="TimeoutException"/>, by the one timeout rule: catch that to handle every Evergreen timeout.
/// </summary>
public sealed class QueueEmptyException : TimeoutException
{
    /// <summary>Creates the exception with a default message.</summary>
    public QueueEmptyException() : base("the queue stayed empty: no item was taken") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public QueueEmptyException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and its cause.</summary>
    public QueueEmptyException(string message, Exception innerException) : base(message, innerException) { }

    internal QueueEmptyException(object queue, TimeSpan? timeout)
        : base($"{queue} stayed empty for the get's timeout of {(timeout is { } span ? Timeouts.Describe(span) : "none")}: no item was taken")
    {
        Timeout = timeout;
    }

    /// <summary>The timeout that passed, when the queue raised it.</summary>
    public TimeSpan? Timeout { get; }
}
