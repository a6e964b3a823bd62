// The one timeout rule (docs/design.md, "Timeouts"):
//
//   A wait that takes `TimeSpan? timeout` ends, when it passes, with false where the method returns
//   bool (TryXxx-style: WaitQueue.ParkAsync, AsyncLock.AcquireAsync, AsyncEvent.WaitAsync), and
//   otherwise with an exception that `is TimeoutException` (a queue's QueueEmptyException, a
//   future's, a barrier's). null and Timeout.InfiniteTimeSpan mean no limit; a negative span is an
//   ArgumentOutOfRangeException before anything waits. For a limit over several waits, or over
//   code that takes no timeout, use a CancelScope: it ends every park inside it with a
//   TimeoutException too. Durations are TimeSpans everywhere; no member takes seconds as a number.
//
// Everything that checks or converts a timeout comes here: one check, one message.

using System.Runtime.CompilerServices;

namespace Evergreen;

/// <summary>
/// The timeout rule every Evergreen wait follows, and the one check of a timeout argument: a
/// <c>TimeSpan? timeout</c> ends the wait with <c>false</c> where the method returns bool, and
/// otherwise with an exception that is a <see cref="TimeoutException"/>; <c>null</c> and
/// <see cref="Timeout.InfiniteTimeSpan"/> mean no limit. Use a <see cref="CancelScope"/> for a
/// deadline over several waits.
/// </summary>
public static class Timeouts
{
    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> when <paramref name="timeout"/> is negative
    /// (other than <see cref="Timeout.InfiniteTimeSpan"/>). For primitives with a fast path that
    /// does not park: check first, so a bad argument fails whether or not the wait was needed.
    /// </summary>
    /// <param name="timeout">The timeout argument; null for none.</param>
    /// <param name="paramName">The parameter's name, for the message (filled in by the compiler).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // on every fast path: null costs a test
    public static void Check(TimeSpan? timeout, [CallerArgumentExpression(nameof(timeout))] string? paramName = null)
    {
        if (timeout.HasValue) ToTicks(timeout, paramName ?? nameof(timeout));
    }

    /// <summary>Writes a duration for a message: "1.5 s", "250 ms".</summary>
    public static string Describe(TimeSpan span) => span.TotalSeconds >= 1
        ? $"{span.TotalSeconds:0.###} s"
        : $"{span.TotalMilliseconds:0.###} ms";

    /// <summary>The timeout in loop ticks, or -1 for none; throws for a negative one.</summary>
    internal static long ToTicks(TimeSpan? timeout, string paramName)
    {
        if (timeout is not { } span || span == Timeout.InfiniteTimeSpan) return -1;
        if (span < TimeSpan.Zero) throw new ArgumentOutOfRangeException(paramName, span, "a timeout cannot be negative (use null or Timeout.InfiniteTimeSpan for none)");
        return EventLoop.SpanToTicks(span);
    }
}
