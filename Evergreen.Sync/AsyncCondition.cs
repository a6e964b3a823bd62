// A condition variable over an Evergreen lock.
//
// WaitAsync releases the lock fully (an RLock saves its recursion count, as Python's
// _release_save does), parks on the condition's own FIFO, then takes the lock back before it
// returns, in every outcome: notified, timed out, killed or cut short by a cancel scope. The
// kill or scope exception is thrown only once the lock is held again (trio's shielded re-acquire),
// so the `using` block around the wait releases a lock that really is held. The lock does that
// re-acquire on a shielded node of its queue (see HandoffQueue).
//
// A waiter that was notified and is then killed (or its scope expires) while it takes the lock
// back passes its notification on to the next waiter before it throws: a notify is not lost to a
// tasklet that will not act on it. A waiter killed before a notify reached it had already left the
// queue, so that notify went to another waiter anyway. A waiter notified and killed before it
// runs, whose lock is then free, takes it without parking and returns true (trio's rule: the
// wakeup stands); the kill lands at its next park.
//
// Over an AsyncLock, "holds the lock" can only mean "the lock is locked" (Python's Lock has no
// owner either); over an AsyncRLock it means "the current tasklet owns it".
//
// The re-acquire parks shielded (Tasklet.ParkAsync(..., shielded: true)): inside an expired
// cancel scope it waits for the lock like any waiter instead of being aborted at every park, and a
// holder that never releases shows up in the deadlock report. A kill still ends the park once; it
// is recorded, the waiter keeps its place, and it is thrown when the lock is held again.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Evergreen.Sync;

/// <summary>
/// A condition variable for tasklets (Evergreen's <c>Condition</c>, Python's
/// <c>threading.Condition</c>): tasklets holding its lock wait until another notifies them.
/// Over an <see cref="AsyncRLock"/> (the default: "holds" means the current tasklet owns it) or an
/// <see cref="AsyncLock"/> ("holds" can only mean it is locked, as in Python). Waiters are
/// notified in FIFO order. Loop thread only.
/// <code>
/// using (await cond.LockAsync())
/// {
///     await cond.WaitForAsync(() => items.Count > 0);
///     var item = items.Dequeue();
/// }
/// </code>
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AsyncCondition
{
    private static int s_nextId;
    private readonly ILockForCondition _lock;
    private readonly WaitQueue _waiters;
    private LoopAffinity _affinity;

    /// <summary>Creates a condition over <paramref name="lock"/>, or over a new <see cref="AsyncRLock"/>.</summary>
    public AsyncCondition(ILockForCondition? @lock = null)
    {
        Id = Interlocked.Increment(ref s_nextId);
        _lock = @lock ?? new AsyncRLock();
        _waiters = new WaitQueue(this);
    }

    /// <summary>A number naming this condition in diagnostics.</summary>
    public int Id { get; }

    /// <summary>The lock the condition waits with.</summary>
    public ILockForCondition Lock => _lock;

    /// <summary>How many tasklets wait to be notified.</summary>
    public int WaitingCount => _waiters.Count;

    /// <summary>The waiting tasklets, first to be notified first (diagnostics; allocates).</summary>
    public IReadOnlyList<Tasklet> Waiters => _waiters.Waiters;

    /// <summary>Acquires the condition's lock (its <c>AcquireAsync</c>). A yield point only when it must wait.</summary>
    /// <returns>True when acquired, false when <paramref name="timeout"/> passed.</returns>
    public ValueTask<bool> AcquireAsync(TimeSpan? timeout = null)
    {
        _affinity.Check("AsyncCondition.AcquireAsync");
        return _lock.AcquireAsync(timeout);
    }

    /// <summary>Acquires the condition's lock if that needs no wait. Never a yield point.</summary>
    /// <returns>True when acquired.</returns>
    public bool TryAcquire()
    {
        _affinity.Check("AsyncCondition.TryAcquire");
        return _lock.TryAcquire();
    }

    /// <summary>Releases the condition's lock (its <c>Release</c>). Not a yield point.</summary>
    /// <exception cref="InvalidOperationException">The lock's rule is broken (see its <c>Release</c>).</exception>
    public void Release()
    {
        _affinity.Check("AsyncCondition.Release");
        _lock.Release();
    }

    /// <summary>Acquires the condition's lock for a <c>using</c> block. A yield point only when it must wait.</summary>
    public ValueTask<AsyncReleaser> LockAsync()
    {
        _affinity.Check("AsyncCondition.LockAsync");
        return _lock.LockAsync();
    }

    /// <summary>
    /// Releases the lock, waits until notified or until <paramref name="timeout"/> (null: forever)
    /// passes, then takes the lock back and returns. Always a yield point. The lock is held again
    /// when this returns or throws, whatever ended the wait: a kill or an expired scope is thrown
    /// only once the lock is re-acquired. A waiter notified and then killed before it returns
    /// passes the notification on to the next waiter.
    /// </summary>
    /// <returns>True when notified, false when <paramref name="timeout"/> passed.</returns>
    /// <exception cref="InvalidOperationException">The current tasklet does not hold the lock, or not a tasklet, or another thread.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="TaskletExit">The tasklet was killed while waiting (the lock is held again).</exception>
    /// <exception cref="TimeoutException">An enclosing <see cref="CancelScope"/> expired (the lock is held again).</exception>
    public ValueTask<bool> WaitAsync(TimeSpan? timeout = null)
    {
        _affinity.Check("AsyncCondition.WaitAsync");
        Timeouts.Check(timeout);
        CheckHeld("AsyncCondition.WaitAsync", "waited on");
        Tasklet.RequireCurrent("AsyncCondition.WaitAsync");
        return WaitCoreAsync(timeout);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WaitCoreAsync(TimeSpan? timeout)
    {
        int saved = _lock.ReleaseForWait();
        bool notified = false;
        Exception? error = null;
        try
        {
            notified = await _waiters.ParkAsync(timeout);
        }
        catch (Exception e)
        {
            error = e;
        }
        error = await _lock.RestoreAfterWaitAsync(saved, error);
        if (error is not null)
        {
            if (notified) _waiters.UnparkOne(); // pass the notification on
            ExceptionDispatchInfo.Throw(error);
        }
        return notified;
    }

    /// <summary>
    /// Waits until <paramref name="predicate"/> is true (Python's <c>wait_for</c>), checking it
    /// first and after each notification, with the lock held, for at most
    /// <paramref name="timeout"/> in all. A yield point only when the predicate is false at first.
    /// Kills and scopes end it as they end <see cref="WaitAsync"/> (the lock is held again).
    /// </summary>
    /// <returns>The predicate's last value (false when the timeout passed first).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="predicate"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The current tasklet does not hold the lock, or another thread.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    public ValueTask<bool> WaitForAsync(Func<bool> predicate, TimeSpan? timeout = null)
    {
        var loop = _affinity.Check("AsyncCondition.WaitForAsync");
        ArgumentNullException.ThrowIfNull(predicate);
        Timeouts.Check(timeout);
        CheckHeld("AsyncCondition.WaitForAsync", "waited on");
        if (predicate()) return new ValueTask<bool>(true);
        return WaitForCoreAsync(loop, predicate, timeout);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WaitForCoreAsync(EventLoop loop, Func<bool> predicate, TimeSpan? timeout)
    {
        TimeSpan now = loop.Time;
        TimeSpan? end = timeout is { } t && t != Timeout.InfiniteTimeSpan && t < TimeSpan.MaxValue - now ? now + t : null; // null: never
        while (true)
        {
            TimeSpan? wait = null;
            if (end is { } e)
            {
                TimeSpan left = e - loop.Time;
                wait = left > TimeSpan.Zero ? left : TimeSpan.Zero;
            }
            await WaitAsync(wait);
            if (predicate()) return true;
            if (end is { } due && loop.Time >= due) return false;
        }
    }

    /// <summary>Wakes up to <paramref name="n"/> waiters, first come first. Not a yield point.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The current tasklet does not hold the lock, or another thread.</exception>
    public void Notify(int n = 1)
    {
        _affinity.Check("AsyncCondition.Notify");
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        CheckHeld("AsyncCondition.Notify", "notified");
        for (int i = 0; i < n && _waiters.UnparkOne(); i++) { }
    }

    /// <summary>Wakes every waiter, in FIFO order. Not a yield point.</summary>
    /// <exception cref="InvalidOperationException">The current tasklet does not hold the lock, or another thread.</exception>
    public void NotifyAll()
    {
        _affinity.Check("AsyncCondition.NotifyAll");
        CheckHeld("AsyncCondition.NotifyAll", "notified");
        _waiters.UnparkAll();
    }

    private void CheckHeld(string member, string verb)
    {
        if (_lock.IsHeldForCondition) return;
        throw new InvalidOperationException(
            $"{member} on {this}: a condition can only be {verb} by a tasklet that holds its lock (acquire it first: using (await cond.LockAsync()) {{ ... }}).");
    }

    /// <summary>Names the condition, its lock and its waiters ("waiting on ..." in deadlock reports).</summary>
    public override string ToString() => $"AsyncCondition #{Id} over {_lock} ({_waiters.Count} waiting)";
}
