using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Evergreen.Sync;

/// <summary>
/// A mutual-exclusion lock for tasklets (Evergreen's <c>Lock</c>, Python's <c>threading.Lock</c>):
/// one holder at a time, waiters served in FIFO order. A release with waiters hands the lock
/// straight to the first (no barging). Not reentrant: a holder that acquires it again waits for
/// itself (use <see cref="AsyncRLock"/>). As in Python, any tasklet (or loop callback) may release
/// a held lock, not only the one that acquired it. Loop thread only.
/// <code>using (await lk.LockAsync()) { ... }</code>
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AsyncLock : ILockForCondition, IReleasable
{
    private static int s_nextId;
    private readonly HandoffQueue _waiters;
    private LoopAffinity _affinity;
    private bool _locked;
    private Tasklet? _holder;

    /// <summary>Creates an unlocked lock.</summary>
    public AsyncLock()
    {
        Id = Interlocked.Increment(ref s_nextId);
        _waiters = new HandoffQueue(this);
    }

    /// <summary>A number naming this lock in diagnostics.</summary>
    public int Id { get; }

    /// <summary>True while some tasklet holds the lock.</summary>
    public bool IsLocked => _locked;

    /// <summary>How many tasklets wait to acquire it.</summary>
    public int WaitingCount => _waiters.Count;

    /// <summary>The waiting tasklets, first to be served first (diagnostics; allocates).</summary>
    public IReadOnlyList<Tasklet> Waiters => _waiters.Waiters;

    /// <summary>
    /// Acquires the lock, waiting up to <paramref name="timeout"/> (null: forever) behind earlier
    /// waiters. A yield point only when it must wait: a free lock nobody waits for is taken at once,
    /// synchronously. A timed-out or killed acquire leaves no trace: it does not hold the lock, and a
    /// release that raced with it hands the lock to the next waiter. <see cref="TimeSpan.Zero"/>
    /// on a held lock parks once and then gives up.
    /// </summary>
    /// <returns>True when acquired, false when <paramref name="timeout"/> passed.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">It must wait and this is not a tasklet, or another thread.</exception>
    /// <exception cref="TaskletExit">The tasklet was killed while waiting.</exception>
    /// <exception cref="TimeoutException">An enclosing <see cref="CancelScope"/> expired while waiting.</exception>
    public ValueTask<bool> AcquireAsync(TimeSpan? timeout = null)
    {
        _affinity.Check("AsyncLock.AcquireAsync");
        Timeouts.Check(timeout);
        if (TryTake()) return new ValueTask<bool>(true);
        return _waiters.ParkAsync("AsyncLock.AcquireAsync", 1, timeout);
    }

    /// <summary>
    /// Acquires the lock if it is free and nobody waits for it (Python's <c>acquire(False)</c>).
    /// Never a yield point.
    /// </summary>
    /// <returns>True when acquired.</returns>
    public bool TryAcquire()
    {
        _affinity.Check("AsyncLock.TryAcquire");
        return TryTake();
    }

    /// <summary>
    /// Acquires the lock, waiting as long as it takes, for a <c>using</c> block whose end releases
    /// it. A yield point only when it must wait; a killed or timed-out (by a scope) wait holds nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">It must wait and this is not a tasklet, or another thread.</exception>
    /// <exception cref="TaskletExit">The tasklet was killed while waiting.</exception>
    /// <exception cref="TimeoutException">An enclosing <see cref="CancelScope"/> expired while waiting.</exception>
    public ValueTask<AsyncReleaser> LockAsync()
    {
        _affinity.Check("AsyncLock.LockAsync");
        if (TryTake()) return new ValueTask<AsyncReleaser>(new AsyncReleaser(this));
        return _waiters.LockAsync("AsyncLock.LockAsync", 1);
    }


    /// <summary>
    /// Releases the lock: the first waiter now holds it and will run, or, with none, it is free.
    /// Any tasklet may release a held lock (Python's <c>Lock</c> semantics), not only its holder.
    /// Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">The lock is not locked, or another thread.</exception>
    public void Release()
    {
        _affinity.Check("AsyncLock.Release");
        if (!_locked)
        {
            throw new InvalidOperationException($"{this}: cannot release an AsyncLock that is not locked (release only a lock that was acquired, once per acquire).");
        }
        var next = _waiters.Dequeue();
        if (next is null)
        {
            _locked = false;
            _holder = null;
        }
        else
        {
            _holder = next.Tasklet;
            _waiters.Grant(next);
        }
    }

    private bool TryTake()
    {
        if (_locked || !_waiters.IsEmpty) return false;
        _locked = true;
        _holder = Tasklet.Current;
        return true;
    }

    bool ILockForCondition.IsHeldForCondition => _locked;

    int ILockForCondition.ReleaseForWait()
    {
        Release();
        return 1;
    }

    ValueTask<Exception?> ILockForCondition.RestoreAfterWaitAsync(int saved, Exception? pending)
    {
        if (TryTake()) return new ValueTask<Exception?>(pending);
        return _waiters.ParkShieldedAsync("AsyncCondition.WaitAsync", 1, pending);
    }

    /// <summary>Names the lock, its holder and its waiters ("waiting on ..." in deadlock reports).</summary>
    public override string ToString() => !_locked
        ? $"AsyncLock #{Id} (unlocked)"
        : $"AsyncLock #{Id} (locked{(_holder is null ? "" : " by " + _holder.Describe())}, {_waiters.Count} waiting)";
}
