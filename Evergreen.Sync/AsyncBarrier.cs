// The barrier: a cyclic rendezvous of a fixed number of parties (Python's threading.Barrier).
//
// Each generation collects parties-1 parked waiters in arrival order; the party that arrives last
// does not park: it runs the action, then wakes every waiter with success (FIFO) and starts the
// next generation at once. Because a woken park's outcome is fixed (trio's rule), a released waiter
// returns its index even if it is killed before it runs, so Python's "draining" state is not
// needed: nothing of the old generation is left when the last party returns.
//
// Breaking is the delicate part. Python breaks the barrier when a waiter times out; here any end
// of a park that is not our wake-up (its own timeout, a kill, an expired cancel scope) goes through
// AbortPark, and AbortPark breaks the barrier there and then: it removes the leaver and wakes every
// other waiter with a BrokenBarrierException. Breaking later, when the leaver resumes, would let
// a party arriving in between count the leaver and release a generation that is one short.
//
// A waiter needs its index after the wake, so WaitAsync returns a ValueTask<int> over a pooled
// Waiter node that forwards to the tasklet's own park: the continuation is registered with the
// park, so the waiter resumes straight from the ready queue. (A PoolingAsyncValueTaskMethodBuilder
// method would do the same work, but its completion posts the caller's continuation through the
// tasklet's SynchronizationContext: a delegate allocated and an extra trip through the ready queue
// on every park.)
//
// Must never: wake a waiter twice (each leaves _waiters as it is woken), run user code from
// AbortPark (it only unparks), or let a waiter of one generation count in the next (_generation
// tells the last party whether its action reset or broke the barrier under it).

using System.Diagnostics;
using System.Threading.Tasks.Sources;

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
public sealed class AsyncBarrier : IParkOwner
{
    private static int s_lastId;

    private readonly int _id = Interlocked.Increment(ref s_lastId);
    private readonly int _parties;
    private readonly Action? _action;
    private readonly List<Waiter> _waiters;    // this generation's parked waiters, in arrival order
    private Waiter? _free;                      // pooled nodes, linked through NextFree
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
        _waiters = new List<Waiter>(Math.Min(parties, 64));
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
    /// early breaks the barrier for all: on <paramref name="timeout"/> it gets a
    /// <see cref="BrokenBarrierException"/>, when killed <see cref="TaskletExit"/>, when a
    /// <see cref="CancelScope"/> expires <see cref="TimeoutException"/>, and every other waiter a
    /// <see cref="BrokenBarrierException"/>. A party woken by the release keeps its index even if
    /// it is killed before it runs. Allocates nothing in steady state. Await the result at once
    /// (exactly once): the park is registered by the await.
    /// </summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/> waits forever.</param>
    /// <returns>The arrival index, distinct in each round: 0 for the first to arrive, <see cref="Parties"/>-1 for the last.</returns>
    /// <exception cref="BrokenBarrierException">The barrier is or became broken (reset, aborted, a waiter left, the action threw), or this wait timed out.</exception>
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

        var me = Tasklet.RequireCurrent("AsyncBarrier.WaitAsync");
        var park = Tasklet.ParkAsync(this, timeout); // refuses a tasklet already waiting, before it joins
        var waiter = _free ?? new Waiter(this);
        _free = waiter.NextFree;
        waiter.Start(me, index, timeout, park);
        _waiters.Add(waiter);
        return new ValueTask<int>(waiter, waiter.Version);
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
        for (int i = 0; i < _waiters.Count; i++) _waiters[i].Tasklet!.Unpark();
        _waiters.Clear();
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

    void IParkOwner.AbortPark(Tasklet tasklet)
    {
        int i = _waiters.Count - 1;
        while (i >= 0 && !ReferenceEquals(_waiters[i].Tasklet, tasklet)) i--;
        if (i < 0) return;
        _waiters[i].Aborted = true;
        _waiters.RemoveAt(i);
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
        for (int i = 0; i < _waiters.Count; i++) _waiters[i].Tasklet!.Unpark(Broken(message));
        _waiters.Clear();
    }

    private BrokenBarrierException Broken(string? message = null) =>
        new(message ?? $"{this}: the barrier is broken because {_brokenBy} (Reset it to use it again).", _brokenCause);

    private string WaitersDisplay => _waiters.Count == 0 ? "" : "waiters: " + string.Join(", ", _waiters.Select(w => w.Tasklet!.Describe()));

    /// <summary>Names the barrier and its state, e.g. "AsyncBarrier #2 (1 of 3 waiting)": what deadlock reports print.</summary>
    public override string ToString() =>
        $"AsyncBarrier #{_id} ({(_brokenBy is not null ? $"broken, {_parties} parties" : $"{_waiters.Count} of {_parties} waiting")})";

    /// <summary>
    /// One parked party: its index, and the source of the ValueTask WaitAsync returned, which forwards to
    /// the tasklet's park. Pooled by the barrier; back in the pool once its result is read.
    /// </summary>
    private sealed class Waiter : IValueTaskSource<int>
    {
        private readonly AsyncBarrier _barrier;
        private readonly Action _onParkEnded;
        private ValueTask<bool> _park;
        private Action<object?>? _continuation;
        private object? _state;
        private int _index;
        private TimeSpan? _timeout;

        internal Waiter(AsyncBarrier barrier)
        {
            _barrier = barrier;
            _onParkEnded = OnParkEnded;
        }

        internal Tasklet? Tasklet;
        internal Waiter? NextFree;
        internal bool Aborted;          // its park was ended by AbortPark (timeout, kill, scope)
        internal short Version;         // the token of the ValueTask handed out; bumped on reuse

        internal void Start(Tasklet tasklet, int index, TimeSpan? timeout, ValueTask<bool> park)
        {
            Tasklet = tasklet;
            _index = index;
            _timeout = timeout;
            _park = park;
            Aborted = false;
        }

        public ValueTaskSourceStatus GetStatus(short token)
        {
            CheckToken(token);
            if (!_park.IsCompleted) return ValueTaskSourceStatus.Pending;
            return Aborted || _park.IsFaulted ? ValueTaskSourceStatus.Faulted : ValueTaskSourceStatus.Succeeded;
        }

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        {
            CheckToken(token);
            _continuation = continuation;
            _state = state;
            // Registers with the tasklet's park as the core's own awaiters do: an Action continuation
            // travels through the park's first, always-known delegate slot, so it never allocates.
            // (_park.GetAwaiter().UnsafeOnCompleted would go through the runtime's delegate, which
            // the park must learn, and pays 32 B per park once its small table of them is full.)
            Tasklet!.RegisterAction(_onParkEnded);
        }

        private void OnParkEnded()
        {
            var continuation = _continuation!;
            var state = _state;
            _continuation = null;
            _state = null;
            continuation(state);
        }

        public int GetResult(short token)
        {
            CheckToken(token);
            var park = _park;
            int index = _index;
            var timeout = _timeout;
            _park = default;
            Tasklet = null;
            Version++;
            NextFree = _barrier._free;
            _barrier._free = this;
            if (!park.GetAwaiter().GetResult()) // throws the kill, the scope's timeout or the break
            {
                throw new BrokenBarrierException($"{_barrier}: the wait timed out after {Timeouts.Describe(timeout!.Value)}, which broke the barrier for every party.");
            }
            return index;
        }

        private void CheckToken(short token)
        {
            if (token != Version) throw new InvalidOperationException("an AsyncBarrier.WaitAsync result was used after it was awaited (await it exactly once).");
        }
    }
}
