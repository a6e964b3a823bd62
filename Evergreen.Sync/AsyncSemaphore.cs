using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Evergreen.Sync;

/// <summary>
/// A counting semaphore for tasklets (Evergreen's <c>Semaphore</c>, Python's
/// <c>threading.Semaphore</c>): <see cref="AcquireAsync"/> takes a permit, waiting while none is
/// left; <see cref="Release"/> gives one back. Waiters are served in FIFO order, and a release
/// with waiters hands its permit straight to the first (the count stays 0: no barging). Any
/// tasklet may release. Loop thread only.
/// <code>using (await sem.LockAsync()) { ... }</code>
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public class AsyncSemaphore : IReleasable
{
    private static int s_nextId;
    private readonly HandoffQueue _waiters;
    private readonly int _bound;
    private LoopAffinity _affinity;
    private int _count;

    /// <summary>Creates a semaphore holding <paramref name="initialCount"/> permits.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCount"/> is negative.</exception>
    public AsyncSemaphore(int initialCount = 1) : this(initialCount, int.MaxValue) { }

    private protected AsyncSemaphore(int initialCount, int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialCount);
        Id = Interlocked.Increment(ref s_nextId);
        _count = initialCount;
        _bound = bound;
        _waiters = new HandoffQueue(this);
    }

    private protected int InitialBound => _bound;

    /// <summary>A number naming this semaphore in diagnostics.</summary>
    public int Id { get; }

    /// <summary>The permits left (0 while tasklets wait).</summary>
    public int CurrentCount => _count;

    /// <summary>How many tasklets wait for a permit.</summary>
    public int WaitingCount => _waiters.Count;

    /// <summary>The waiting tasklets, first to be served first (diagnostics; allocates).</summary>
    public IReadOnlyList<Tasklet> Waiters => _waiters.Waiters;

    /// <summary>
    /// Takes a permit, waiting up to <paramref name="timeout"/> (null: forever) behind earlier
    /// waiters. A yield point only when it must wait: with a permit left and nobody waiting it
    /// returns at once, synchronously. A timed-out or killed acquire takes no permit, and a release
    /// that raced with it hands the permit to the next waiter.
    /// </summary>
    /// <returns>True when a permit was taken, false when <paramref name="timeout"/> passed.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">It must wait and this is not a tasklet, or another thread.</exception>
    /// <exception cref="TaskletExit">The tasklet was killed while waiting.</exception>
    /// <exception cref="TimeoutException">An enclosing <see cref="CancelScope"/> expired while waiting.</exception>
    public ValueTask<bool> AcquireAsync(TimeSpan? timeout = null)
    {
        _affinity.Check("AsyncSemaphore.AcquireAsync");
        Timeouts.Check(timeout);
        if (TryTake()) return new ValueTask<bool>(true);
        return _waiters.ParkAsync("AsyncSemaphore.AcquireAsync", 0, timeout);
    }

    /// <summary>Takes a permit if one is left and nobody waits. Never a yield point.</summary>
    /// <returns>True when a permit was taken.</returns>
    public bool TryAcquire()
    {
        _affinity.Check("AsyncSemaphore.TryAcquire");
        return TryTake();
    }

    /// <summary>
    /// Takes a permit, waiting as long as it takes, for a <c>using</c> block whose end gives it
    /// back. A yield point only when it must wait; a killed or timed-out (by a scope) wait takes nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">It must wait and this is not a tasklet, or another thread.</exception>
    /// <exception cref="TaskletExit">The tasklet was killed while waiting.</exception>
    /// <exception cref="TimeoutException">An enclosing <see cref="CancelScope"/> expired while waiting.</exception>
    public ValueTask<AsyncReleaser> LockAsync()
    {
        _affinity.Check("AsyncSemaphore.LockAsync");
        if (TryTake()) return new ValueTask<AsyncReleaser>(new AsyncReleaser(this));
        return _waiters.LockAsync("AsyncSemaphore.LockAsync", 0);
    }


    /// <summary>
    /// Gives a permit back: to the first waiter, who now holds it and will run, or to the count.
    /// Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// An <see cref="AsyncBoundedSemaphore"/> would go above its initial count (nothing changes),
    /// the count would overflow, or another thread.
    /// </exception>
    public void Release()
    {
        _affinity.Check("AsyncSemaphore.Release");
        if (_count >= _bound)
        {
            throw new InvalidOperationException(_bound == int.MaxValue
                ? $"{this}: the count cannot go above int.MaxValue."
                : $"{this}: an AsyncBoundedSemaphore cannot be released more times than it was acquired (its count cannot go above its initial {_bound}).");
        }
        if (_waiters.Dequeue() is { } next) _waiters.Grant(next);
        else _count++;
    }

    private bool TryTake()
    {
        if (_count == 0 || !_waiters.IsEmpty) return false;
        _count--;
        return true;
    }

    /// <summary>Names the semaphore, its count and its waiters ("waiting on ..." in deadlock reports).</summary>
    public override string ToString() => $"{GetType().Name} #{Id} (count {_count}{(_bound == int.MaxValue ? "" : $" of {_bound}")}, {_waiters.Count} waiting)";
}
