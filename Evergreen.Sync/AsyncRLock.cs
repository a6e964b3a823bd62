using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Evergreen.Sync;

/// <summary>
/// A reentrant lock for tasklets (Evergreen's <c>RLock</c>, Python's <c>threading.RLock</c>): the
/// tasklet that holds it (its <see cref="Owner"/>) may acquire it again, and must release it as
/// many times (<see cref="RecursionCount"/>) before others get it. Only the owner may release it.
/// Waiters are served in FIFO order and a final release hands it straight to the first. Loop
/// thread only.
/// <code>using (await rl.LockAsync()) { ... }</code>
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AsyncRLock : ILockForCondition, IReleasable
{
    private static int s_nextId;
    private readonly HandoffQueue _waiters;
    private LoopAffinity _affinity;
    private Tasklet? _owner;
    private int _count;

    /// <summary>Creates an unlocked reentrant lock.</summary>
    public AsyncRLock()
    {
        Id = Interlocked.Increment(ref s_nextId);
        _waiters = new HandoffQueue(this);
    }

    /// <summary>A number naming this lock in diagnostics.</summary>
    public int Id { get; }

    /// <summary>The tasklet that holds the lock, or null.</summary>
    public Tasklet? Owner => _owner;

    /// <summary>How many times the owner has acquired it without releasing (0 when free).</summary>
    public int RecursionCount => _count;

    /// <summary>True while some tasklet holds the lock.</summary>
    public bool IsLocked => _owner is not null;

    /// <summary>How many tasklets wait to acquire it.</summary>
    public int WaitingCount => _waiters.Count;

    /// <summary>The waiting tasklets, first to be served first (diagnostics; allocates).</summary>
    public IReadOnlyList<Tasklet> Waiters => _waiters.Waiters;

    /// <summary>
    /// Acquires the lock for the current tasklet, waiting up to <paramref name="timeout"/> (null:
    /// forever) behind earlier waiters; its owner acquires it again at once. A yield point only
    /// when it must wait. A timed-out or killed acquire leaves no trace, and a release that raced
    /// with it hands the lock to the next waiter.
    /// </summary>
    /// <returns>True when acquired, false when <paramref name="timeout"/> passed.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet (an RLock's owner is a tasklet), or another thread.</exception>
    /// <exception cref="TaskletExit">The tasklet was killed while waiting.</exception>
    /// <exception cref="TimeoutException">An enclosing <see cref="CancelScope"/> expired while waiting.</exception>
    public ValueTask<bool> AcquireAsync(TimeSpan? timeout = null)
    {
        _affinity.Check("AsyncRLock.AcquireAsync");
        Timeouts.Check(timeout);
        var me = CurrentOwner("AsyncRLock.AcquireAsync");
        if (TryTake(me)) return new ValueTask<bool>(true);
        return _waiters.ParkAsync("AsyncRLock.AcquireAsync", 1, timeout);
    }

    /// <summary>
    /// Acquires the lock if the current tasklet owns it or it is free and nobody waits for it.
    /// Never a yield point.
    /// </summary>
    /// <returns>True when acquired.</returns>
    /// <exception cref="InvalidOperationException">Not called from a tasklet, or another thread.</exception>
    public bool TryAcquire()
    {
        _affinity.Check("AsyncRLock.TryAcquire");
        return TryTake(CurrentOwner("AsyncRLock.TryAcquire"));
    }

    /// <summary>
    /// Acquires the lock, waiting as long as it takes, for a <c>using</c> block whose end releases
    /// it once. A yield point only when it must wait; a killed or timed-out (by a scope) wait holds nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not called from a tasklet, or another thread.</exception>
    /// <exception cref="TaskletExit">The tasklet was killed while waiting.</exception>
    /// <exception cref="TimeoutException">An enclosing <see cref="CancelScope"/> expired while waiting.</exception>
    public ValueTask<AsyncReleaser> LockAsync()
    {
        _affinity.Check("AsyncRLock.LockAsync");
        var me = CurrentOwner("AsyncRLock.LockAsync");
        if (TryTake(me)) return new ValueTask<AsyncReleaser>(new AsyncReleaser(this));
        return _waiters.LockAsync("AsyncRLock.LockAsync", 1);
    }


    /// <summary>
    /// Releases one level of the current tasklet's hold; the last one hands the lock to the first
    /// waiter, or frees it. Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">The current tasklet does not hold the lock, or another thread.</exception>
    public void Release()
    {
        _affinity.Check("AsyncRLock.Release");
        var me = Tasklet.Current;
        if (_owner is null || !ReferenceEquals(_owner, me))
        {
            string who = me is null ? "code outside any tasklet" : me.Describe();
            string held = _owner is null ? "it is not locked" : $"it is held by {_owner.Describe()}";
            throw new InvalidOperationException($"{this}: an AsyncRLock can only be released by the tasklet that holds it ({who} tried to release it, and {held}).");
        }
        if (--_count == 0) HandOver();
    }

    private void HandOver()
    {
        var next = _waiters.Dequeue();
        if (next is null)
        {
            _owner = null;
            return;
        }
        _owner = next.Tasklet;
        _count = next.Count;
        _waiters.Grant(next);
    }

    private bool TryTake(Tasklet me)
    {
        if (ReferenceEquals(_owner, me))
        {
            _count++;
            return true;
        }
        if (_owner is not null || !_waiters.IsEmpty) return false;
        _owner = me;
        _count = 1;
        return true;
    }

    private static Tasklet CurrentOwner(string member) => Tasklet.Current ?? throw new InvalidOperationException(
        $"{member}: an AsyncRLock is owned by a tasklet, and this call is outside any tasklet: acquire it from a tasklet.");

    bool ILockForCondition.IsHeldForCondition => _owner is not null && ReferenceEquals(_owner, Tasklet.Current);

    int ILockForCondition.ReleaseForWait()
    {
        int saved = _count;
        _count = 0;
        HandOver();
        return saved;
    }

    ValueTask<Exception?> ILockForCondition.RestoreAfterWaitAsync(int saved, Exception? pending)
    {
        var me = CurrentOwner("AsyncCondition.WaitAsync");
        if (_owner is null && _waiters.IsEmpty)
        {
            _owner = me;
            _count = saved;
            return new ValueTask<Exception?>(pending);
        }
        return _waiters.ParkShieldedAsync("AsyncCondition.WaitAsync", saved, pending);
    }

    /// <summary>Names the lock, its owner, recursion and waiters ("waiting on ..." in deadlock reports).</summary>
    public override string ToString() => _owner is null
        ? $"AsyncRLock #{Id} (unlocked)"
        : $"AsyncRLock #{Id} (held by {_owner.Describe()} x{_count}, {_waiters.Count} waiting)";
}
