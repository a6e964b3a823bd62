using System.Diagnostics;

namespace Evergreen.Sync;

/// <summary>
/// A flag that tasklets wait on until another sets it (Evergreen's <c>Event</c>, Python's
/// <c>threading.Event</c>). <see cref="Set"/> raises the flag and wakes every waiter, in FIFO
/// order; <see cref="Clear"/> lowers it; <see cref="WaitAsync"/> returns at once while it is set
/// and otherwise parks. A waiter woken by <see cref="Set"/> returns true even if
/// <see cref="Clear"/> runs before it resumes: the wake-up is handed over, not re-checked.
/// Loop thread only: the event binds to the loop of the first thread that uses it.
/// </summary>
[DebuggerDisplay("{ToString(),nq} {WaitersDisplay,nq}")]
public sealed class AsyncEvent
{
    private static int s_lastId;

    private readonly int _id = Interlocked.Increment(ref s_lastId);
    private readonly WaitQueue _waiters;
    private LoopAffinity _affinity;
    private bool _set;

    /// <summary>Creates an event, clear unless <paramref name="initialState"/> is true.</summary>
    public AsyncEvent(bool initialState = false)
    {
        _set = initialState;
        _waiters = new WaitQueue(this);
    }

    /// <summary>True while the flag is set (Python's <c>is_set()</c>). Not a yield point.</summary>
    /// <exception cref="InvalidOperationException">Called from another loop's thread.</exception>
    public bool IsSet
    {
        get
        {
            _affinity.Check("AsyncEvent.IsSet");
            return _set;
        }
    }

    /// <summary>How many tasklets are parked in <see cref="WaitAsync"/>. Not a yield point.</summary>
    /// <exception cref="InvalidOperationException">Called from another loop's thread.</exception>
    public int WaitingCount
    {
        get
        {
            _affinity.Check("AsyncEvent.WaitingCount");
            return _waiters.Count;
        }
    }

    /// <summary>
    /// Sets the flag and wakes every waiting tasklet, first come first woken; each of their
    /// <see cref="WaitAsync"/> calls returns true. Later waits return at once until
    /// <see cref="Clear"/>. Setting a set event does nothing. Not a yield point: the woken
    /// tasklets run after the caller's next yield.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another loop's thread.</exception>
    public void Set()
    {
        _affinity.Check("AsyncEvent.Set");
        _set = true;
        _waiters.UnparkAll();
    }

    /// <summary>
    /// Lowers the flag: later <see cref="WaitAsync"/> calls park until the next <see cref="Set"/>.
    /// Tasklets already woken by a <see cref="Set"/> still return true. Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another loop's thread.</exception>
    public void Clear()
    {
        _affinity.Check("AsyncEvent.Clear");
        _set = false;
    }

    /// <summary>
    /// Waits until the flag is set. While it is set, returns true at once without yielding (not a
    /// yield point then); otherwise parks the current tasklet (a yield point) until a
    /// <see cref="Set"/> (true) or <paramref name="timeout"/> (false). A kill throws
    /// <see cref="TaskletExit"/> and an expired <see cref="CancelScope"/> throws
    /// <see cref="TimeoutException"/>; a cancelled or timed-out wait leaves the event as it was.
    /// Allocates nothing. Await the result at once: the park is registered by the await.
    /// </summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/> waits forever.</param>
    /// <returns>True when the flag is (or was) set, false when the timeout passed first.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">Called from another loop's thread, or outside a tasklet when the flag is clear.</exception>
    public ValueTask<bool> WaitAsync(TimeSpan? timeout = null)
    {
        _affinity.Check("AsyncEvent.WaitAsync");
        Timeouts.Check(timeout); // validate on both paths
        if (_set) return new ValueTask<bool>(true);
        // The park's own result is the event's: true only when a Set woke it (the handoff rule).
        return _waiters.ParkAsync(timeout);
    }

    private string WaitersDisplay => _waiters.IsEmpty ? "" : "waiters: " + string.Join(", ", _waiters.Waiters.Select(t => t.Describe()));

    /// <summary>Names the event and its state, e.g. "AsyncEvent #3 (clear, 2 waiting)": what deadlock reports print.</summary>
    public override string ToString() =>
        $"AsyncEvent #{_id} ({(_set ? "set" : "clear")}{(_waiters.Count > 0 ? $", {_waiters.Count} waiting" : "")})";
}
