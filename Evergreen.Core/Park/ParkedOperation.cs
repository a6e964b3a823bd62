// The one "operation that parks": what every Evergreen wait that moves something is built on.
//
// Many waits need more than a wake: an item handed over, a byte count, a libuv status, a value
// computed on another thread. Doing that work in an async method costs a state-machine box per
// wait; instead the operation node is the ValueTask's source. It forwards GetStatus and
// OnCompleted to the tasklet's own park (the tasklet stays the thing that is scheduled) and turns
// the outcome into the result in GetResult, after the park ended. The node is the park's owner
// too, so it hears aborts, and a WaitNode, so a primitive can queue it in a WaitList. A node
// serves one wait at a time and is pooled by its primitive: a wait allocates nothing.
//
// The life of one wait (docs/design.md, "The park and its abort protocol"):
//   Idle ──ParkAsync──▶ Waiting ──Complete──▶ Completed ──GetResult──▶ Idle (Finish(true), OnIdle)
//                          │
//                          ├─ timeout: TryRecall() ──true──▶ GetResult: Finish(false), OnIdle
//                          ├─ kill / expired scope: TryRecall() ──true──▶ GetResult throws it, OnIdle
//                          └─ either, TryRecall() false (libuv or a thread still owns the work):
//                             Detached: GetResult throws the abort (or Finish(false)) now; the
//                             operation finishes on its own, its Complete drops the outcome, OnIdle.
// That is the one rule for an operation that can no longer be recalled (trio's abort_fn FAILED,
// resolved one way): the wait ends at once, as every wait does on a kill, and the operation is
// detached — it keeps its node (and its pinned memory) until its completion, which is dropped.
// A completion that reaches a parked waiter is final: it is delivered even if a kill comes before
// the waiter runs (the kill lands at its next park), like every woken park. (One that comes before
// the caller even awaited, which only misuse allows, is dropped if registering the park aborts it.)
//
// Must never: be awaited twice, run user code in TryRecall, or be reused before OnIdle.

using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Evergreen;

/// <summary>
/// A reusable wait that parks the current tasklet and completes with a <typeparamref name="TResult"/>:
/// the base of every Evergreen primitive's waiter, and the way to build your own (see the README,
/// "Building a primitive"). A subclass parks with <see cref="ParkAsync"/> (or
/// <see cref="ParkVoidAsync"/>), queues itself where its completer will find it (a
/// <see cref="WaitList{TNode}"/>, a libuv request), and is completed with <see cref="Complete()"/>
/// from the loop thread (a libuv callback, another tasklet); the waiter resumes and
/// <see cref="Finish"/> produces the result. Aborts — a kill, an expired <see cref="CancelScope"/>,
/// the park's own timeout — call <see cref="TryRecall"/>; an operation that cannot be recalled is
/// detached: the wait ends at once and the late completion is dropped. Awaiting a node's ValueTask
/// twice is an <see cref="InvalidOperationException"/>. Loop thread only.
/// </summary>
/// <typeparam name="TResult">What the wait hands back; <see cref="bool"/> for waits without a result.</typeparam>
[DebuggerDisplay("{ToString(),nq} ({_state})")]
public abstract class ParkedOperation<TResult> : WaitNode, IParkOwner, IValueTaskSource<TResult>, IValueTaskSource
{
    private enum State : byte
    {
        Idle,         // free: may be parked on
        Waiting,      // a tasklet is parked (or parking) on it; no completion yet
        Completed,    // Complete ran; the waiter has not read the result yet
        Recalled,     // the park was aborted or timed out and the operation taken back; GetResult pending
        Detached,     // the park was aborted, the operation could not be recalled; both ends pending
        DetachedDone, // detached, and its completion came; GetResult pending
        Dropped,      // detached, and GetResult ran; the completion is pending
    }

    private Tasklet? _tasklet;
    private Exception? _error;
    private short _token;
    private State _state;

    /// <summary>Creates an idle operation.</summary>
    protected ParkedOperation() { }

    /// <summary>The tasklet waiting on this operation, from <see cref="ParkAsync"/> until it reads the result.</summary>
    protected Tasklet? Waiter => _tasklet;

    /// <summary>
    /// The token of the current wait's ValueTask. For a subclass that hands the same wait out as a
    /// ValueTask of another result type (a lock's <c>LockAsync</c> beside its <c>AcquireAsync</c>):
    /// its own <see cref="IValueTaskSource{T}"/> forwards to this operation's with this token, so the
    /// awaited-twice check stays this one.
    /// </summary>
    protected short Token => _token;

    /// <summary>True while a tasklet waits and no completion has come: <see cref="Complete()"/> may be called.</summary>
    protected bool IsWaiting => _state == State.Waiting;

    /// <summary>
    /// True from <see cref="ParkAsync"/> until the operation is idle again (<see cref="OnIdle"/>):
    /// also while a detached operation still runs. An idle node may be parked on again.
    /// </summary>
    protected bool IsBusy => _state != State.Idle;

    /// <summary>
    /// Parks the current tasklet on this operation and returns the ValueTask to await at once.
    /// Queue the operation where its completer will find it after this returns (it has not
    /// parked when this throws). Always a yield point.
    /// </summary>
    /// <param name="member">The public member that waits, for errors ("AsyncQueue.GetAsync").</param>
    /// <param name="timeout">How long the park may last; null for no limit. When it passes, <see cref="TryRecall"/> runs and <see cref="Finish"/> gets false.</param>
    /// <param name="shielded">True to ignore expired cancel scopes (only a kill or the timeout ends it early).</param>
    /// <exception cref="InvalidOperationException">Not called from a tasklet, the tasklet is already parked, or the operation is busy.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    protected ValueTask<TResult> ParkAsync(string member, TimeSpan? timeout = null, bool shielded = false)
    {
        Begin(member, timeout, shielded);
        return new ValueTask<TResult>(this, _token);
    }

    /// <summary>As <see cref="ParkAsync"/>, for a wait whose caller gets no result (<see cref="Finish"/>'s value is dropped).</summary>
    /// <inheritdoc cref="ParkAsync" path="/param"/>
    /// <inheritdoc cref="ParkAsync" path="/exception"/>
    protected ValueTask ParkVoidAsync(string member, TimeSpan? timeout = null, bool shielded = false)
    {
        Begin(member, timeout, shielded);
        return new ValueTask(this, _token);
    }

    private void Begin(string member, TimeSpan? timeout, bool shielded)
    {
        if (_state != State.Idle)
        {
            throw new InvalidOperationException($"{member}: {this} is still in use by an earlier wait (an operation serves one wait at a time; rent a fresh one).");
        }
        var tasklet = Tasklet.RequireCurrent(member);
        tasklet.BeginPark(this, Timeouts.ToTicks(timeout, nameof(timeout)), yielding: false);
        if (shielded) tasklet._flags |= Tasklet.TaskletFlags.Shielded;
        _tasklet = tasklet;
        _token = tasklet._version;
        _error = null;
        _state = State.Waiting;
    }

    /// <summary>
    /// The operation is done: wakes the waiter, which resumes at the back of the ready queue and
    /// reads the result through <see cref="Finish"/> (true). From a libuv callback or any code on
    /// the loop thread; not a yield point. On a detached operation it ends the detachment
    /// (<see cref="OnIdle"/> runs, the outcome is dropped).
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing waits on the operation.</exception>
    protected void Complete() => CompleteCore(null);

    /// <summary>As <see cref="Complete()"/>, but the waiter's await throws <paramref name="error"/> (a closed channel, a failed write) and <see cref="Finish"/> does not run.</summary>
    /// <exception cref="InvalidOperationException">Nothing waits on the operation.</exception>
    protected void Complete(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        CompleteCore(error);
    }

    private void CompleteCore(Exception? error)
    {
        switch (_state)
        {
            case State.Waiting:
                _state = State.Completed;
                _error = error;
                var tasklet = _tasklet!;
                if (tasklet.IsParked && ReferenceEquals(tasklet._owner, this))
                {
                    tasklet.Unpark();
                }
                else if (!IsParkingOnThis(tasklet))
                {
                    // The tasklet ended, or moved on, without ever awaiting the operation.
                    _state = State.Idle;
                    _tasklet = null;
                    OnNeverAwaited(tasklet, error);
                    OnIdle();
                }
                // else: not awaited yet; OnCompleted wakes it once the park is registered.
                return;
            case State.Detached:
                _state = State.DetachedDone;
                return;
            case State.Dropped:
                _state = State.Idle;
                OnIdle();
                return;
            default:
                throw new InvalidOperationException($"{this} was completed while nothing waited on it ({_state}): an operation completes once per wait.");
        }
    }

    // A tasklet that ended with its park still registering (it returned without awaiting) is not
    // parking any more: its park stays "Parking" forever, and nothing would ever read the outcome.
    private bool IsParkingOnThis(Tasklet tasklet) =>
        tasklet.IsAlive && tasklet._version == _token && tasklet._park == Tasklet.ParkState.Parking && ReferenceEquals(tasklet._owner, this);

    /// <summary>
    /// Runs in the waiter when it resumes, to produce the result: <paramref name="completed"/> is
    /// true after <see cref="Complete()"/>, false when the park's own timeout passed (return false,
    /// or throw a <see cref="TimeoutException"/>, as <see cref="Timeouts"/> says). Not called when
    /// the wait was aborted or completed with an error.
    /// </summary>
    protected abstract TResult Finish(bool completed);

    /// <summary>
    /// The wait is ending early (a kill, an expired scope, the park's timeout, or a wake by something
    /// other than the operation): take the operation back — leave the wait list, undo what it
    /// reserved — and return true. Return false when it cannot be recalled (libuv or a thread still
    /// owns it): the wait ends anyway, and the operation is detached until its <see cref="Complete()"/>.
    /// Runs on the loop thread; must not throw, park or run user code.
    /// </summary>
    protected virtual bool TryRecall() => true;

    /// <summary>The operation is idle again (the waiter has its result, and no completion is pending): return it to its pool.</summary>
    protected virtual void OnIdle() { }

    /// <summary>
    /// A completion came after <paramref name="tasklet"/> ended (or went on to other waits) without
    /// awaiting the operation: nobody will read <paramref name="error"/> or the result. Report what
    /// must not be lost; <see cref="OnIdle"/> follows.
    /// </summary>
    protected virtual void OnNeverAwaited(Tasklet tasklet, Exception? error) { }

    void IParkOwner.AbortPark(Tasklet tasklet)
    {
        if (tasklet._park == Tasklet.ParkState.Parking)
        {
            // The tasklet ended without ever awaiting this wait (Tasklet.AbortLeftoverPark).
            // Recalled: idle at once. Not recallable: it stays Waiting, and its completion finds
            // the tasklet gone and goes to OnNeverAwaited.
            if (_state == State.Waiting && TryRecall())
            {
                _state = State.Idle;
                _tasklet = null;
                OnIdle();
            }
            return;
        }
        switch (_state)
        {
            case State.Waiting:
                _state = TryRecall() ? State.Recalled : State.Detached;
                return;
            case State.Completed:
                // Completed before the await registered the park, which a pending kill aborts at
                // once: the completion stands (the kill lands at the next park), as for any
                // woken park. GetResult sees the abort and delivers nothing else: see End.
                return;
        }
    }

    // The tasklet's park is called directly (not through its IValueTaskSource): no interface
    // dispatch on the path every parked operation takes.
    ValueTaskSourceStatus IValueTaskSource<TResult>.GetStatus(short token) => Park(token).GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => Park(token).GetStatus(token);

    void IValueTaskSource<TResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        Register(continuation, state, token, flags);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        Register(continuation, state, token, flags);

    private void Register(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        var tasklet = _tasklet;
        Park(token).Register(continuation, state, token);
        // Completed before the await came (the caller awaited something that is not a park
        // first): the park is registered now, so wake it, unless registering aborted it.
        if (_state == State.Completed && tasklet!.IsParked && ReferenceEquals(tasklet._owner, this)) tasklet.Unpark();
    }

    TResult IValueTaskSource<TResult>.GetResult(short token) => End(token);

    void IValueTaskSource.GetResult(short token) => End(token);

    private Tasklet Park(short token)
    {
        var tasklet = _tasklet;
        if (tasklet is null || token != _token) throw AwaitedTwice();
        return tasklet;
    }

    private InvalidOperationException AwaitedTwice() =>
        new($"a ValueTask of {this} was awaited twice, or after its wait ended: await an Evergreen wait exactly once (use .AsTask() to await a result several times).");

    private TResult End(short token)
    {
        var tasklet = Park(token);
        tasklet.CheckToken(token);
        if (tasklet.ParkEndsWithError)
        {
            // Aborted: a kill, an expired scope, or the tasklet ending. A completion that came
            // first stands only in the sense that nothing is undone; its result is not returned.
            EndAborted();
            tasklet.EndPark(); // throws the abort
        }
        bool woken = tasklet.EndPark(); // no try: the common path stays lean
        _tasklet = null;
        switch (_state)
        {
            case State.Completed:
                _state = State.Idle;
                var error = _error;
                _error = null;
                try
                {
                    if (error is not null) ExceptionDispatchInfo.Throw(error);
                    return Finish(true);
                }
                finally
                {
                    OnIdle();
                }
            case State.Waiting:
                // Woken by something other than the operation (Tasklet.Unpark on its tasklet).
                _state = TryRecall() ? State.Idle : State.Dropped;
                if (_state == State.Idle) OnIdle();
                throw new InvalidOperationException(
                    $"{tasklet.Describe()} was woken from {this} by something other than the operation (Tasklet.Unpark?): " +
                    "only the primitive may wake its waiters; the wait was abandoned.");
            default:
                Debug.Assert(!woken, "only a timeout ends a park without a completion");
                bool done = _state is State.Recalled or State.DetachedDone; // else Detached: its completion is still to come
                _state = done ? State.Idle : State.Dropped;
                try
                {
                    return Finish(false);
                }
                finally
                {
                    if (done) OnIdle();
                }
        }
    }

    private void EndAborted()
    {
        _tasklet = null;
        switch (_state)
        {
            case State.Detached:
                _state = State.Dropped; // its completion recycles it
                return;
            default: // Recalled, DetachedDone, or Completed before a pending abort
                _state = State.Idle;
                _error = null;
                OnIdle();
                return;
        }
    }
}
