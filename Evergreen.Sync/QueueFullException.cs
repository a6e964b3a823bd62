namespace Evergreen.Sync;

/// <summary>
/// A put gave up: the queue stayed full for the whole timeout (Evergreen's <c>queue.Full</c>).
/// The item was not put. <see cref="AsyncQueueBase{T}.TryPut"/> reports the same with false. A
/// <see cref="TimeoutException"/>, by the one timeout rule: catch that to handle every Evergreen timeout.
/// </summary>
public sealed class QueueFullException : TimeoutException
{
    /// <summary>Creates the exception with a default message.</summary>
    public QueueFullException() : base("the queue stayed full: the item was not put") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public QueueFullException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and its cause.</summary>
    public QueueFullException(string message, Exception innerException) : base(message, innerException) { }

    internal QueueFullException(object queue, TimeSpan? timeout)
        : base($"{queue} stayed full for the put's timeout of {(timeout is { } span ? Timeouts.Describe(span) : "none")}: the item was not put")
    {
        Timeout = timeout;
    }

    /// <summary>The timeout that passed, when the queue raised it.</summary>
    public TimeSpan? Timeout { get; }
}
