// The park: the one way a tasklet waits (docs/design.md, "The park and its abort protocol").
//
// Every blocking call in Evergreen (sleep, lock, channel, join, I/O) ends in ParkAsync. A park is
// a ValueTask whose source is the tasklet itself, so awaiting it from an async method hands the
// runtime's state-machine box straight to OnCompleted: no delegate, no node, no allocation. The
// tasklet can be in one park at a time (it is one thread of control), which is what lets it be
// its own wait node (a WaitNode), so a WaitQueue is a WaitList of tasklets.
//
// A park moves through four states: Parking (ParkAsync returned, not yet awaited), Parked (the
// continuation is registered), Woken (its continuation is in the ready queue, outcome fixed) and
// back to None when GetResult runs. Three things end a park:
//   - the owner wakes it (Unpark): the outcome is success, whatever happens before it runs;
//   - its own timeout: the owner's AbortPark runs, the outcome is "timed out" (false);
//   - an abort, a kill or an expired cancel scope: AbortPark runs, the outcome is the exception.
// A kill or an expired scope that finds the tasklet not parked waits for its next park, which is
// then aborted as soon as it is registered: every park is a yield point and a cancellation point.
// Once a park is Woken its outcome never changes (trio's rule): a lock handed to a tasklet that is
// killed before it runs is still held, and its `using` releases it; the kill lands at the next park.
//
// A tasklet that ends while parked (the park belonged to code it started and did not await) has
// that park aborted as it ends: nothing waits on a tasklet that is gone, and no ended tasklet stays
// in a wait structure.
//
// Must never: run user code from AbortPark, wake a tasklet twice, or leave a tasklet in a wait
// structure after its park ended. Everything here runs on the loop thread.

using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Evergreen;

public partial class Tasklet
{
    /// <summary>
    /// Parks the current tasklet until <see cref="Unpark()"/> wakes it, <paramref name="timeout"/>
    /// passes (the result is false), or the park is aborted by a kill (<see cref="TaskletExit"/>)
    /// or an expired <see cref="CancelScope"/> (<see cref="TimeoutException"/>). On timeout and
    /// abort, <paramref name="owner"/>'s <see cref="IParkOwner.AbortPark"/> runs first. Always a
    /// yield point. Advanced: this is how primitives are built; put the tasklet in your wait
    /// structure before calling it, and await the result at once.
    /// </summary>
    /// <param name="owner">What the tasklet waits on; told when the park is aborted.</param>
    /// <param name="timeout">How long to wait at most; null for no limit.</param>
    /// <param name="shielded">
    /// True to ignore expired cancel scopes during this park (trio's shield): only a kill or the
    /// timeout ends it early. For waits that must finish even past a deadline, such as a condition
    /// waiter taking its lock back before it may throw.
    /// </param>
    /// <returns>True when woken, false when the timeout passed.</returns>
    /// <exception cref="InvalidOperationException">Not called from a tasklet, or the tasklet is already parked.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    public static ValueTask<bool> ParkAsync(IParkOwner? owner, TimeSpan? timeout = null, bool shielded = false)
    {
        var t = RequireCurrent("Tasklet.ParkAsync");
        t.BeginPark(owner, Timeouts.ToTicks(timeout, nameof(timeout)), yielding: false);
        if (shielded) t._flags |= TaskletFlags.Shielded;
        return new ValueTask<bool>(t, t._version);
    }

    /// <summary>True while the tasklet is in a shielded park (expired scopes do not abort it).</summary>
    internal bool IsShielded => (_flags & TaskletFlags.Shielded) != 0;

    /// <summary>
    /// Lets every other ready tasklet run once, then resumes (at the back of the ready queue).
    /// Always a yield point; a pending kill or expired scope is raised here.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static ValueTask Yield()
    {
        var t = RequireCurrent("Tasklet.Yield");
        t.BeginPark(null, -1, yielding: true);
        return new ValueTask(t, t._version);
    }

    /// <summary>
    /// Parks the current tasklet for <paramref name="delay"/>; <see cref="TimeSpan.Zero"/> is a
    /// <see cref="Yield"/>. Always a yield point; a kill or an expired scope ends it early with
    /// an exception.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static ValueTask Sleep(TimeSpan delay)
    {
        if (delay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(delay), delay, "a sleep cannot be negative");
        var t = RequireCurrent("Tasklet.Sleep");
        if (delay == TimeSpan.Zero)
        {
            t.BeginPark(null, -1, yielding: true);
        }
        else
        {
            t.BeginPark(null, Timeouts.ToTicks(delay, nameof(delay)), yielding: false);
        }
        return new ValueTask(t, t._version);
    }

    /// <summary>
    /// Wakes this tasklet from its park (advanced: for primitives that own the park). Its
    /// <see cref="ParkAsync"/> returns true. The tasklet runs at the back of the ready queue.
    /// </summary>
    /// <exception cref="InvalidOperationException">It is not parked, or this is not its loop's thread.</exception>
    public void Unpark()
    {
        CheckParkedForUnpark();
        Wake(null, timedOut: false);
    }

    /// <summary>
    /// Wakes this tasklet from its park with an exception, which its <see cref="ParkAsync"/>
    /// throws (advanced: a broken barrier, a closed channel).
    /// </summary>
    /// <exception cref="InvalidOperationException">It is not parked, or this is not its loop's thread.</exception>
    public void Unpark(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        CheckParkedForUnpark();
        Wake(error, timedOut: false);
    }

    /// <summary>True while the tasklet is parked and can be woken with <see cref="Unpark()"/>.</summary>
    public bool IsParked => _park == ParkState.Parked;

    /// <summary>What the tasklet is parked on, or null.</summary>
    public IParkOwner? ParkOwner => _park is ParkState.Parked or ParkState.Parking ? _owner : null;

    /// <summary>
    /// The current tasklet, for a member that must park it (advanced: for primitive authors);
    /// throws a clear error naming <paramref name="member"/> when called outside a tasklet.
    /// </summary>
    /// <param name="member">The caller, as the user wrote it ("MyQueue.TakeAsync").</param>
    /// <exception cref="InvalidOperationException">No tasklet is running on this thread.</exception>
    public static Tasklet RequireCurrent(string member)
    {
        var loop = EventLoop.t_current;
        var t = loop?._current;
        if (t is null)
        {
            throw new InvalidOperationException(loop is null
                ? EventLoop.NoLoopMessage($"{member} parks the current tasklet, and there is no EventLoop on this thread", "call it from a tasklet.")
                : $"{member} parks the current tasklet, and it was called outside any tasklet (from a loop callback?). Spawn a tasklet to wait.");
        }
        return t;
    }

    internal void BeginPark(IParkOwner? owner, long timeoutTicks, bool yielding)
    {
        if (_park != ParkState.None)
        {
            throw new InvalidOperationException(
                $"{Describe()} is already waiting on {WaitingOn ?? "something"}: a tasklet waits on one thing at a time " +
                "(to wait on several, spawn a tasklet for each, or use Task.WhenAll over ordinary tasks).");
        }
        if (_life != Lifecycle.Started)
        {
            throw new InvalidOperationException($"{Describe()} has ended: code it left running (a fire-and-forget async method?) cannot park it.");
        }
        _owner = owner;
        _park = ParkState.Parking;
        _version++;
        if (timeoutTicks >= 0) Extras.ParkTimeout = timeoutTicks;
        if (yielding) _flags |= TaskletFlags.Yielding;
    }

    /// <summary>Registers the continuation: the park is now real, or aborted at once.</summary>
    internal void Register(Action<object?> continuation, object? state, short token)
    {
        if (token != _version || _park != ParkState.Parking)
        {
            throw new InvalidOperationException($"{Describe()}: a park was awaited twice, or after it ended (await a ParkAsync result exactly once).");
        }
        var loop = _ctx!.Loop;
        StoreContinuation(continuation, state);
        long timeout = -1;
        if (_x is { } x)
        {
            timeout = x.ParkTimeout;
            x.ParkTimeout = -1;
        }
        // Before the park is marked Parked: finding a deadline passed here tells the scope's
        // listeners (a TaskGroup kills its children), and a child that ends at once must not be
        // able to wake this park before it is aborted.
        var error = TakePendingAbort();
        _park = ParkState.Parked;
        if (error is not null)
        {
            Abort(error);
        }
        else if ((_flags & TaskletFlags.Yielding) != 0)
        {
            _flags &= ~TaskletFlags.Yielding;
            Wake(null, timedOut: false);
        }
        else if (timeout >= 0)
        {
            var node = Extras.ParkTimer ??= new TimerNode(this, TimerKind.ParkTimeout);
            loop.AddTimer(node, loop.NowTicks + timeout);
        }
    }

    /// <summary>The exception a new park must be aborted with at once: a pending kill, or an expired scope.</summary>
    private Exception? TakePendingAbort()
    {
        if (_x is not { } x) return null;
        if (x.PendingKill is { } kill)
        {
            x.PendingKill = null;
            return kill;
        }
        return IsShielded ? null : x.Scope?.ExpiredException();
    }

    private void CheckParkedForUnpark()
    {
        _ctx?.Loop.CheckThread("Tasklet.Unpark");
        if (_park != ParkState.Parked)
        {
            throw new InvalidOperationException($"{Describe()} is not parked ({State}): only a parked tasklet can be woken, once.");
        }
    }

    /// <summary>Ends the park (it must be Parked) and schedules the continuation.</summary>
    internal void Wake(Exception? error, bool timedOut)
    {
        if (_x is { ParkTimer: { IsScheduled: true } node }) _ctx!.Loop.RemoveTimer(node);
        _owner = null;
        _park = ParkState.Woken;
        _flags &= ~TaskletFlags.Yielding;
        if (timedOut) _flags |= TaskletFlags.TimedOut;
        if (error is not null) Extras.ParkError = error;
        _ctx!.Loop.ScheduleContinuation(this);
    }

    /// <summary>Aborts the current park with <paramref name="error"/>: the owner lets go, then the tasklet wakes.</summary>
    internal void Abort(Exception error)
    {
        var owner = _owner;
        _owner = null;
        owner?.AbortPark(this);
        Wake(error, timedOut: false);
    }

    /// <summary>
    /// The tasklet has ended while parked: code it started and did not await (a fire-and-forget
    /// async method, or an async function passed where a synchronous one was expected) holds its
    /// park. That park ends with it, aborted: the owner lets go, and the code resumes with the
    /// error, so whoever awaits it hears of it instead of waiting on a tasklet that is gone.
    /// </summary>
    internal void AbortLeftoverPark()
    {
        if (_park == ParkState.Parking)
        {
            // Begun and never awaited (`_ = lock.AcquireAsync()`): nothing will ever register it.
            // The owner takes the tasklet out of its wait structure (a grant must not go to a
            // tasklet that is gone); an operation that cannot be recalled reports, when it
            // completes, that it was never awaited. A later await of the stale ValueTask is the
            // "awaited after it ended" error.
            var owner = _owner;
            owner?.AbortPark(this);
            _owner = null;
            _park = ParkState.None;
            _flags &= ~(TaskletFlags.Yielding | TaskletFlags.Shielded);
            if (_x is { } x) x.ParkTimeout = -1;
            return;
        }
        if (_park != ParkState.Parked) return;
        Abort(new InvalidOperationException(
            $"{Describe()} ended while parked on {WaitingOn}: the park belonged to code the tasklet started and did not await " +
            "(a fire-and-forget async method, or an async function passed where a synchronous one was expected), and a park ends with its tasklet."));
    }

    /// <summary>The park's timeout passed.</summary>
    internal void OnParkTimeout()
    {
        if (_park != ParkState.Parked) return;
        var owner = _owner;
        _owner = null;
        owner?.AbortPark(this);
        Wake(null, timedOut: true);
    }

    /// <summary>True when the ended park's result is an exception (an abort, or an Unpark with an error).</summary>
    internal bool ParkEndsWithError => _x?.ParkError is not null;

    /// <summary>Ends the park when the awaiting code resumes: throws the abort, or says whether it was woken.</summary>
    internal bool EndPark()
    {
        if (_park != ParkState.Woken)
        {
            throw new InvalidOperationException($"{Describe()}: a park's result was read before the park ended.");
        }
        _park = ParkState.None;
        bool timedOut = (_flags & TaskletFlags.TimedOut) != 0;
        _flags &= ~(TaskletFlags.TimedOut | TaskletFlags.AwaitingResult | TaskletFlags.Shielded);
        if (_x is { ParkError: { } error } x)
        {
            x.ParkError = null;
            ExceptionDispatchInfo.Throw(error);
        }
        return !timedOut;
    }

    /// <summary>Parks with a plain <see cref="Action"/> continuation, for custom awaiters.</summary>
    internal void RegisterAction(Action continuation) => Register(s_invokeAction, continuation, _version);

    // The continuation of a park is a delegate and a state. The delegate is nearly always one of a
    // few statics (the runtime's state-machine-box invoker, its Action invoker, ours), so a tasklet
    // keeps the state and a 3-bit index into a ContinuationTable instead of a delegate field: 8
    // bytes less on every tasklet. An unknown delegate, once the table is full, travels in a small
    // pair object.

    private static readonly Action<object?> s_invokeAction = static s => ((Action)s!)();
    private static readonly ContinuationTable s_continuations = new(capacity: 7, s_invokeAction);
    private const int ContinuationShift = 8;
    private const int PairedContinuation = 7;

    private sealed class ContinuationPair(Action<object?> continuation, object? state)
    {
        internal readonly Action<object?> Continuation = continuation;
        internal readonly object? State = state;
    }

    private void StoreContinuation(Action<object?> continuation, object? state)
    {
        int index = s_continuations.IndexOf(continuation);
        if (index < 0)
        {
            _contState = new ContinuationPair(continuation, state);
            index = PairedContinuation;
        }
        else
        {
            _contState = state;
        }
        _flags = (TaskletFlags)(((int)_flags & ~(int)TaskletFlags.ContinuationMask) | (index << ContinuationShift));
    }

    /// <summary>Takes the parked continuation out of the tasklet, for the ready queue.</summary>
    internal void TakeContinuation(out Action<object?> continuation, out object? state)
    {
        int index = ((int)_flags & (int)TaskletFlags.ContinuationMask) >> ContinuationShift;
        if (index == PairedContinuation)
        {
            var pair = (ContinuationPair)_contState!;
            continuation = pair.Continuation;
            state = pair.State;
        }
        else
        {
            continuation = s_continuations[index];
            state = _contState;
        }
        _contState = null;
    }

    // IValueTaskSource: the park as a ValueTask. The token is the park's version, so a stale
    // ValueTask (awaited twice) is caught instead of resuming the wrong park.

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => GetStatus(token);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ValueTaskSourceStatus GetStatus(short token) =>
        token == _version && _park == ParkState.Woken
            ? ((_x?.ParkError is null) ? ValueTaskSourceStatus.Succeeded : ValueTaskSourceStatus.Faulted)
            : ValueTaskSourceStatus.Pending;

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        Register(continuation, state, token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        Register(continuation, state, token);

    bool IValueTaskSource<bool>.GetResult(short token)
    {
        CheckToken(token);
        return EndPark();
    }

    void IValueTaskSource.GetResult(short token)
    {
        CheckToken(token);
        EndPark();
    }

    internal void CheckToken(short token)
    {
        if (token != _version) throw new InvalidOperationException($"{Describe()}: a park's ValueTask was used after the park ended (await it exactly once).");
    }
}
