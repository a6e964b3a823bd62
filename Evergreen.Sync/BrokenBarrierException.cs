namespace Evergreen.Sync;

/// <summary>
/// Thrown by <see cref="AsyncBarrier.WaitAsync"/> when the barrier is broken, or breaks while the
/// tasklet waits (Python's <c>BrokenBarrierError</c>): it was reset or aborted, a waiter timed out,
/// was killed or cancelled, or the barrier's action threw. The message says which.
/// </summary>
public class BrokenBarrierException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public BrokenBarrierException() : base("the barrier is broken") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public BrokenBarrierException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that broke the barrier.</summary>
    public BrokenBarrierException(string message, Exception? innerException) : base(message, innerException) { }
}
