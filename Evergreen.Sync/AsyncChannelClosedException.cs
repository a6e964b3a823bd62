namespace Evergreen.Sync;

/// <summary>
/// Thrown by an <see cref="AsyncChannel{T}"/> that was closed: to a sender at once (including a
/// sender parked when <see cref="AsyncChannel{T}.Close"/> was called; its value was not sent), and
/// to a receiver once the channel is closed and its buffer drained. Closed is not cancelled: a
/// killed or timed-out wait throws <see cref="TaskletExit"/> or <see cref="TimeoutException"/>.
/// (Not named <c>ChannelClosedException</c>, which System.Threading.Channels has.)
/// </summary>
public sealed class AsyncChannelClosedException : InvalidOperationException
{
    /// <summary>Creates the exception with the default message.</summary>
    public AsyncChannelClosedException() : base("the channel is closed") { }

    /// <summary>Creates the exception with a message.</summary>
    public AsyncChannelClosedException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public AsyncChannelClosedException(string message, Exception? innerException) : base(message, innerException) { }
}
