using System.Diagnostics;

namespace Evergreen.Sync;

/// <summary>
/// A semaphore that refuses to be released above its initial count (Evergreen's
/// <c>BoundedSemaphore</c>, Python's <c>threading.BoundedSemaphore</c>): an extra
/// <see cref="AsyncSemaphore.Release"/> is a bug (a permit given back twice), so it throws an
/// <see cref="InvalidOperationException"/> and changes nothing. Otherwise an
/// <see cref="AsyncSemaphore"/>. Loop thread only.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AsyncBoundedSemaphore : AsyncSemaphore
{
    /// <summary>Creates a semaphore holding <paramref name="initialCount"/> permits, its upper bound.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCount"/> is negative.</exception>
    public AsyncBoundedSemaphore(int initialCount = 1) : base(initialCount, initialCount) { }

    /// <summary>The initial count, above which <see cref="AsyncSemaphore.Release"/> throws.</summary>
    public int MaxCount => InitialBound;
}
