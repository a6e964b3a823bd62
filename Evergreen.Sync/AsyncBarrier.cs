// The barrier: a cyclic rendezvous of a fixed number of parties (Python's threading.Barrier).
//
// Each generation collects parties-1 parked waiters in arrival order; the party that arrives last
// does not park: it runs the action, then wakes every waiter with success (FIFO) and starts the
// next generation at once. Because a woken park's outcome is fixed (trio's rule), a released waiter
// returns its index even if it is killed before it runs, so Python's "draining" state is not
// needed: nothing of the old generation is left when the last party returns.
//
// Breaking is the delicate part. Python breaks the barrier when a waiter times out; here any end
// of a park that is not our wake-up (its own timeout, a kill, an expired cancel scope) recalls the
// waiter (ParkedOperation.TryRecall), and the recall breaks the barrier there and then: it removes
// the leaver and wakes every other waiter with a BrokenBarrierException. Breaking later, when the
// leaver resumes, would let a party arriving in between count the leaver and release a generation
// that is one short. The leaver itself gets what ended its wait: TaskletExit, the scope's
// TimeoutException, or for its own timeout a TimeoutException saying it broke the barrier (the
// one timeout rule, docs/design.md).
//
// A waiter needs its index after the wake, so each is a pooled Waiter, a ParkedOperation<int>
// queued in a WaitList: WaitAsync returns its ValueTask<int>, and nothing is allocated per wait.
//
// Must never: wake a waiter twice (each leaves _waiters as it is woken), run user code from
// TryRecall (it only completes waiters), or let a waiter of one generation count in the next
// (_generation tells the last party whether its action reset or broke the barrier under it).

using System.Diagnostics;

namespace Evergreen.Sync;

/// <summary>
/// A cyclic barrier for a fixed number of tasklets (Evergreen's <c>Barrier</c>, Python's
/// <c>threading.Barrier</c>): each party calls <see cref="WaitAsync"/>, and all are released
/// together when the last one arrives, after <see cref="AsyncBarrier(int, Action?)"/>'s action
/// has run once. Then the barrier is ready for the next round. A waiter that times out, is killed
/// or is cancelled breaks the barrier for everyone, as do <see cref="Abort"/> and an action that
/// throws; <see cref="Reset"/> makes it usable again. Waiters are woken first come first served.
/// Loop thread only: the barrier binds to the loop of the first thread that uses it.
/// </summary>
[DebuggerDisplay("{ToString(),nq} {WaitersDisplay,nq}")]
public sealed class AsyncBarrier
{
    private static int s_lastId;

    private readonly int _id = Interlocked.Increment(ref s_lastId);
    private readonly int _parties;
    private readonly Action? _action;
    private WaitList<Waiter> _waiters;          // this generation's parked waiters, in arrival order
    private WaitList<Waiter> _free;             // pooled nodes
    private LoopAffinity _affinity;
    private int _generation;                    // bumped by every release, reset and break
    private bool _inAction;
    private string? _brokenBy;                  // null while not broken
    private Exception? _brokenCause;

    /// <summary>
    /// Creates a barrier for <paramref name="parties"/> tasklets. <paramref name="action"/>, if
    /// given, runs once per round in the last tasklet to arrive, before the others are released.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parties"/> is less than 1.</exception>
    public AsyncBarrier(int parties, Action? action = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parties, 1);
        _parties = parties;
        _action = action;
    }

    /// <summary>How many tasklets must call <see cref="WaitAsync"/> to pass the barrier. Not a yield point.</summary>
    /// <exception cref="InvalidOperationException">Called from another loop's thread.</exception>
    public int Parties
    {
        get
        {
            _affinity.Check("AsyncBarrier.Parties");
            return _parties;
        }
    }

    /// <summary>How many tasklets wait in the current round (Python's <c>n_waiting</c>); 0 when broken. Not a yield point.</summary>
    /// <exception cref="InvalidOperationException">Called from another loop's thread.</exception>
    public int WaitingCount
    {
        get
        {
            _affinity.Check("AsyncBarrier.WaitingCount");
            return _waiters.Count;
        }
    }

    /// <summary>True while the barrier is broken (until <see cref="Reset"/>). Not a yield point.</summary>
    /// <exception cref="InvalidOperationException">Called from another loop's thread.</exception>
    public bool IsBroken
    {
        get
        {
            _affinity.Check("AsyncBarrier.IsBroken");
            return _brokenBy is not null;
        }
    }

    /// <summary>
    /// Arrives at the barrier. Every party but the last parks (a yield point) until the last one
    /// arrives; the last one runs the action and releases them all without yielding (not a yield
    /// point), and so does a call on a broken barrier, which fails at once. A party that leaves
    /// early breaks the barrier for all: when <paramref name="timeout"/> passes it gets a
    /// <see cref="TimeoutException"/> (saying it broke the barrier), when killed
    /// <see cref="TaskletExit"/>, when a <see cref="CancelScope"/> expires
    /// <see cref="TimeoutException"/>, and every other waiter a <see cref="BrokenBarrierException"/>. A party woken by the release keeps its index even if
    /// it is killed before it runs. Allocates nothing in steady state. Await the result at once
    /// (exactly once): the park is registered by the await.
    /// </summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/> waits forever. When it passes: <see cref="TimeoutException"/>, and the barrier is broken.</param>
    /// <returns>The arrival index, distinct in each round: 0 for the first to arrive, <see cref="Parties"/>-1 for the last.</returns>
    /// <exception cref="BrokenBarrierException">The barrier is or became broken (reset, aborted, another waiter left, the action threw).</exception>
    /// <exception cref="TimeoutException"><paramref name="timeout"/> passed (this party broke the barrier), or an enclosing <see cref="CancelScope"/> expired.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">Called from another loop's thread, from the barrier's own action, or outside a tasklet when it would have to wait.</exception>
    public ValueTask<int> WaitAsync(TimeSpan? timeout = null)
    {
        _affinity.Check("AsyncBarrier.WaitAsync");
        Timeouts.Check(timeout); // validate on every path
        if (_inAction)
        {
            throw new InvalidOperationException($"{this}: an AsyncBarrier's action cannot wait on the barrier it is running for.");
        }
        if (_brokenBy is not null) return ValueTask.FromException<int>(Broken());
        int index = _waiters.Count;
        if (index + 1 == _parties) return Release(index);

        var waiter = _free.TakeFirst() ?? new Waiter(this);
        ValueTask<int> wait;
        try
        {
            wait = waiter.Park(index, timeout); // refuses a tasklet already waiting, before it joins
        }
        catch
        {
            _free.AddLast(waiter);
            throw;
        }
        _waiters.AddLast(waiter);
        return wait;
    }

    /// <summary>The last party: run the action, then release the round.</summary>
    private ValueTask<int> Release(int index)
    {
        int generation = _generation;
        if (_action is { } action)
        {
            _inAction = true;
            try
            {
                action();
            }
            catch (Exception e)
            {
                Break($"its action threw {e.GetType().Name}: {e.Message}", e);
                return ValueTask.FromException<int>(e);
            }
            finally
            {
                _inAction = false;
            }
            if (generation != _generation)
            {
                return ValueTask.FromException<int>(new BrokenBarrierException(
                    $"{this}: the barrier's action reset or broke the barrier before the round was released."));
            }
        }
        _generation++;
        while (_waiters.TakeFirst() is { } w) w.Release();
        return new ValueTask<int>(index);
    }

    /// <summary>
    /// Returns the barrier to its empty, unbroken state (Python's <c>reset()</c>): every tasklet
    /// waiting now gets a <see cref="BrokenBarrierException"/>, and later waits start a new round.
    /// Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another loop's thread.</exception>
    public void Reset()
    {
        _affinity.Check("AsyncBarrier.Reset");
        _brokenBy = null;
        _brokenCause = null;
        _generation++;
        WakeAllBroken($"{this} was reset while this tasklet waited.");
    }

    /// <summary>
    /// Breaks the barrier (Python's <c>abort()</c>): every waiting tasklet, and every later
    /// <see cref="WaitAsync"/> until <see cref="Reset"/>, gets a <see cref="BrokenBarrierException"/>.
    /// Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another loop's thread.</exception>
    public void Abort()
    {
        _affinity.Check("AsyncBarrier.Abort");
        Break("it was aborted", null);
    }

    /// <summary>A waiter's park ended early: it leaves, and the barrier breaks for the others.</summary>
    private void Leave(Waiter waiter, Tasklet tasklet)
    {
        if (!_waiters.Remove(waiter)) return;
        Break($"{tasklet.Describe()} stopped waiting (timed out, killed or cancelled)", null);
    }

    private void Break(string why, Exception? cause)
    {
        _brokenBy = why;
        _brokenCause = cause;
        _generation++;
        WakeAllBroken(null);
    }

    /// <summary>Wakes every waiter with its own exception (one each, so their stack traces stay apart).</summary>
    private void WakeAllBroken(string? message)
    {
        while (_waiters.TakeFirst() is { } w) w.Release(Broken(message));
    }

    private BrokenBarrierException Broken(string? message = null) =>
        new(message ?? $"{this}: the barrier is broken because {_brokenBy} (Reset it to use it again).", _brokenCause);

    private string WaitersDisplay
    {
        get
        {
            if (_waiters.IsEmpty) return "";
            var names = new List<string>();
            foreach (var w in _waiters) names.Add(w.Tasklet!.Describe());
            return "waiters: " + string.Join(", ", names);
        }
    }

    /// <summary>Names the barrier and its state, e.g. "AsyncBarrier #2 (1 of 3 waiting)": what deadlock reports print.</summary>
    public override string ToString() =>
        $"AsyncBarrier #{_id} ({(_brokenBy is not null ? $"broken, {_parties} parties" : $"{_waiters.Count} of {_parties} waiting")})";

    /// <summary>One parked party and its index. Pooled by the barrier; back in the pool once its result is read.</summary>
    private sealed class Waiter(AsyncBarrier barrier) : ParkedOperation<int>
    {
        private int _index;
        private TimeSpan? _timeout;

        internal Tasklet? Tasklet => Waiter;

        internal ValueTask<int> Park(int index, TimeSpan? timeout)
        {
            var wait = ParkAsync("AsyncBarrier.WaitAsync", timeout);
            _index = index;
            _timeout = timeout;
            return wait;
        }

        /// <summary>Releases the party with its index.</summary>
        internal void Release() => Complete();

        /// <summary>Releases the party with <paramref name="error"/> (the barrier broke).</summary>
        internal void Release(Exception error) => Complete(error);

        protected override int Finish(bool completed) => completed
            ? _index
            : throw new TimeoutException($"{barrier}: the wait timed out after {Timeouts.Describe(_timeout!.Value)}, which broke the barrier for every other party.");

        protected override bool TryRecall()
        {
            barrier.Leave(this, Waiter!);
            return true;
        }

        protected override void OnIdle() => barrier._free.AddLast(this);

        public override string ToString() => barrier.ToString();
    }
}
