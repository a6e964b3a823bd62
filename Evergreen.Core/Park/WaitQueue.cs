using System.Diagnostics;

namespace Evergreen;

/// <summary>
/// A FIFO of parked tasklets: the building block of every Evergreen wait (trio's parking lot).
/// <see cref="ParkAsync"/> puts the current tasklet at the tail and parks it;
/// <see cref="UnparkOne()"/> wakes the head. A tasklet killed, timed out or cancelled while waiting
/// leaves the queue by itself. The queue is intrusive (tasklets are their own nodes), so waiting
/// allocates nothing. Loop thread only.
/// </summary>
[DebuggerDisplay("WaitQueue for {ToString(),nq}: {Count} waiting")]
public sealed class WaitQueue : IParkOwner
{
    private readonly object? _waitingOn;
    private WaitList<Tasklet> _waiters;

    /// <summary>
    /// Creates a queue; <paramref name="waitingOn"/> names what its waiters wait on (its ToString is
    /// used; a <see cref="Tasklet"/> reads as "tasklet 'x' (#3) to end").
    /// </summary>
    public WaitQueue(object? waitingOn = null) => _waitingOn = waitingOn;

    /// <summary>How many tasklets wait.</summary>
    public int Count => _waiters.Count;

    /// <summary>True when nobody waits.</summary>
    public bool IsEmpty => _waiters.IsEmpty;

    /// <summary>The tasklet that would be woken next, or null.</summary>
    public Tasklet? Peek() => _waiters.First;

    /// <summary>The waiting tasklets, for the core's own walks.</summary>
    internal ref WaitList<Tasklet> List => ref _waiters;

    /// <summary>The waiting tasklets, head first (for diagnostics; it allocates).</summary>
    public IReadOnlyList<Tasklet> Waiters
    {
        get
        {
            var list = new List<Tasklet>(Count);
            foreach (var t in _waiters) list.Add(t);
            return list;
        }
    }

    /// <summary>
    /// Parks the current tasklet at the tail until <see cref="UnparkOne()"/> or
    /// <see cref="UnparkAll()"/> reaches it (true), or <paramref name="timeout"/> passes (false).
    /// A kill or an expired <see cref="CancelScope"/> throws, and leaves the queue as if the wait
    /// had never been made. Always a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public ValueTask<bool> ParkAsync(TimeSpan? timeout = null)
    {
        var t = Tasklet.RequireCurrent("WaitQueue.ParkAsync");
        long ticks = Timeouts.ToTicks(timeout, nameof(timeout));
        t.BeginPark(this, ticks, yielding: false);
        _waiters.AddLast(t);
        return new ValueTask<bool>(t, t._version);
    }

    /// <summary>
    /// Wakes the tasklet at the head (<see cref="Peek"/> says which); it runs at the back of the
    /// ready queue. Not a yield point.
    /// </summary>
    /// <returns>False when nobody waits.</returns>
    public bool UnparkOne()
    {
        var t = _waiters.TakeFirst();
        if (t is null) return false;
        t.Unpark();
        return true;
    }

    /// <summary>Wakes the tasklet at the head with an exception its park throws. Not a yield point.</summary>
    /// <returns>False when nobody waits.</returns>
    public bool UnparkOne(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var t = _waiters.TakeFirst();
        if (t is null) return false;
        t.Unpark(error);
        return true;
    }

    /// <summary>Wakes every waiting tasklet, in FIFO order. Not a yield point.</summary>
    /// <returns>How many were woken.</returns>
    public int UnparkAll()
    {
        int n = 0;
        while (UnparkOne()) n++;
        return n;
    }

    /// <summary>Wakes every waiting tasklet with an exception their parks throw. Not a yield point.</summary>
    /// <returns>How many were woken.</returns>
    public int UnparkAll(Exception error)
    {
        int n = 0;
        while (UnparkOne(error)) n++;
        return n;
    }

    void IParkOwner.AbortPark(Tasklet tasklet) => _waiters.Remove(tasklet);

    /// <inheritdoc/>
    public override string ToString() => _waitingOn switch
    {
        null => "a wait queue",
        Tasklet t => $"{t.Describe()} to end", // a tasklet's joiners
        var other => other.ToString() ?? "a wait queue",
    };
}
