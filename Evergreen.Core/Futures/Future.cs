// Futures: the outcome of a call that finishes later (Python's concurrent.futures.Future, made
// cooperative).
//
// A future moves Pending -> Running -> Succeeded | Failed, or Pending -> Cancelled (Running is
// optional: a producer may set a pending future directly). Once done its outcome never changes.
// Completing it (SetResult, SetException, Cancel) tells three kinds of listener, in this order:
//   - tasklets parked in ResultAsync / await: woken through the future's WaitQueue (allocated on
//     the first wait); they run after the completer's next yield, as every wake does;
//   - internal hooks (Futures.WaitAsync, AsCompleted): nodes in an intrusive list, called
//     synchronously, O(1) to add and to remove, so a wait over N futures costs O(N) and unhooks
//     from the futures still pending when it returns;
//   - done callbacks: user code, so never run inside the completing call: one CallSoon runs the
//     callbacks added so far, in order, each guarded (a throw is reported, the next still runs);
//     a callback added after completion gets its own CallSoon, so the order holds.
//
// "Observed" records whether anyone was handed the outcome (a wait that returned it, Result,
// Exception, a done callback, WaitAsync/AsCompleted/MapAsync returning the future). An executor
// reports the failures of its futures that nobody observed when it shuts down (Executor.cs).
//
// Must never: run user code inside Set*/Cancel, change a done future, or leave a hook or a waiter
// behind once its wait returned. Everything runs on the loop thread of the loop it belongs to.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Evergreen;

/// <summary>
/// The outcome of a call that finishes later: a value, an exception, or cancelled before it ran
/// (Evergreen's and Python's <c>concurrent.futures.Future</c>). An <see cref="Executor"/> returns
/// one from <see cref="Executor.Submit(Action)"/>; a producer can make one with
/// <see cref="Future{T}()"/> and set it. Tasklets wait on it with <see cref="ResultAsync"/> or
/// <c>await future</c>. This untyped base serves code that handles futures of any type
/// (<see cref="Futures.WaitAsync{TFuture}"/>); <see cref="Future{T}"/> is the only kind there is.
/// Loop thread only: a future belongs to the loop of the thread that made it.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public abstract partial class Future
{
    private static int s_lastId;

    internal readonly EventLoop _loop;
    private readonly int _id;
    private State _state;
    private bool _observed;
    private Exception? _error;          // the failure, or the FutureCanceledException
    private Tasklet? _killedWorker;     // the executor worker whose kill failed the call
    private WaitList<WaitNode> _waiters; // IFutureWaiters: the waits in ResultAsync and MapAsync, and the hooks of WaitAsync and AsCompleted
    private List<Action<Future>>? _callbacks;
    private readonly Executor? _executor;

    private enum State : byte { Pending, Running, Succeeded, Failed, Canceled }

    private protected Future(EventLoop loop, Executor? executor)
    {
        _loop = loop;
        _executor = executor;
        _id = Interlocked.Increment(ref s_lastId);
    }

    /// <summary>A number unique in this process, in creation order (for messages and dumps).</summary>
    public int Id => _id;

    /// <summary>
    /// True once the future is done: it finished with a value or an exception, or it was cancelled.
    /// Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the future's loop.</exception>
    public bool IsDone
    {
        get
        {
            _loop.CheckThread("Future.IsDone");
            return _state >= State.Succeeded;
        }
    }

    /// <summary>True once <see cref="Cancel"/> cancelled the future. Not a yield point.</summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the future's loop.</exception>
    public bool IsCanceled
    {
        get
        {
            _loop.CheckThread("Future.IsCanceled");
            return _state == State.Canceled;
        }
    }

    /// <summary>
    /// True while the call runs: <see cref="TrySetRunning"/> succeeded and the future is not done
    /// yet. A running future can no longer be cancelled. Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the future's loop.</exception>
    public bool IsRunning
    {
        get
        {
            _loop.CheckThread("Future.IsRunning");
            return _state == State.Running;
        }
    }

    /// <summary>
    /// The call's exception once the future is done: null if it succeeded, a
    /// <see cref="FutureCanceledException"/> if it was cancelled (the exception as set otherwise; a
    /// <see cref="TaskletExit"/> when the executor's worker running it was killed). Reading it
    /// counts as observing the failure. Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">The future is not done yet, or called from another thread than the future's loop.</exception>
    public Exception? Exception
    {
        get
        {
            _loop.CheckThread("Future.Exception");
            if (_state < State.Succeeded) throw NotDone("Exception");
            _observed = true;
            return _error;
        }
    }

    /// <summary>
    /// Cancels the future if its call has not started: it becomes done and cancelled, its waiters
    /// get <see cref="FutureCanceledException"/> and its done callbacks are scheduled. Returns true
    /// then, and when it was already cancelled; false when the call is running or finished (it
    /// cannot be stopped: its result still arrives). Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the future's loop.</exception>
    public bool Cancel()
    {
        _loop.CheckThread("Future.Cancel");
        switch (_state)
        {
            case State.Canceled:
                return true;
            case State.Pending:
                Complete(State.Canceled, new FutureCanceledException(this));
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// For whoever runs the call (an executor, a producer): marks the future running, so that it
    /// can no longer be cancelled, and returns true; returns false when it was cancelled, and then
    /// the call must not run. Call it once, just before running the call. Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The future is already running or finished (it is called once, by whoever runs the call), or
    /// called from another thread than the future's loop.
    /// </exception>
    public bool TrySetRunning()
    {
        _loop.CheckThread("Future.TrySetRunning");
        switch (_state)
        {
            case State.Pending:
                _state = State.Running;
                return true;
            case State.Canceled:
                return false;
            case State.Running:
                throw new InvalidOperationException($"{this} is already running: TrySetRunning is called once, by whoever runs the call.");
            default:
                throw AlreadyDone("TrySetRunning");
        }
    }

    /// <summary>Starts the call if the future is still pending (executors): false when cancelled or already set by someone else.</summary>
    internal bool TryStart()
    {
        if (_state != State.Pending) return false;
        _state = State.Running;
        return true;
    }

    /// <summary>
    /// Finishes the future with <paramref name="exception"/>: its waiters rethrow it. Not a yield
    /// point (waiters run after the caller's next yield; done callbacks are scheduled, not run).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    /// <exception cref="InvalidOperationException">
    /// The future already finished or was cancelled (a future is set once), or called from another
    /// thread than the future's loop.
    /// </exception>
    public void SetException(Exception exception)
    {
        if (!TrySetException(exception)) throw AlreadyDone("SetException");
    }

    /// <summary>
    /// Like <see cref="SetException"/>, but returns false instead of throwing when the future is
    /// already done (finished or cancelled). Not a yield point.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Called from another thread than the future's loop.</exception>
    public bool TrySetException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        _loop.CheckThread("Future.TrySetException");
        if (_state >= State.Succeeded) return false;
        Complete(State.Failed, exception);
        return true;
    }

    /// <summary>Fails the call with the kill of the executor worker that ran it.</summary>
    internal void SetKilled(Exception exit, Tasklet worker)
    {
        if (_state >= State.Succeeded) return;
        _killedWorker = worker;
        Complete(State.Failed, exit);
    }

    /// <summary>
    /// Waits until the future is done, then returns, or rethrows the call's exception
    /// (<see cref="FutureCanceledException"/> if it was cancelled; <see cref="TaskletKilledException"/>
    /// if the executor worker running it was killed, so that the kill does not pass for this
    /// tasklet's own). A done future returns at once, without yielding and without allocating
    /// when it succeeded; otherwise a yield point. A kill (<see cref="TaskletExit"/>) or an
    /// expired <see cref="CancelScope"/> (<see cref="TimeoutException"/>) ends the wait and leaves
    /// nothing behind; so does <paramref name="timeout"/>, with a <see cref="TimeoutException"/>
    /// naming the future. Await the result at once.
    /// </summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/> waits forever.</param>
    /// <exception cref="TimeoutException"><paramref name="timeout"/> passed first.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">
    /// Called from another thread than the future's loop, or outside a tasklet while the future is not done.
    /// </exception>
    public ValueTask ResultAsync(TimeSpan? timeout = null) => ResultUntypedAsync(timeout);

    private protected abstract ValueTask ResultUntypedAsync(TimeSpan? timeout);

    /// <summary>
    /// Makes the future awaitable: <c>await future</c> is <c>await future.ResultAsync()</c>.
    /// A yield point unless the future is done.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the future's loop, or outside a tasklet while the future is not done.</exception>
    public ValueTaskAwaiter GetAwaiter() => ResultAsync().GetAwaiter();

    /// <summary>
    /// Runs <paramref name="callback"/> on the loop once the future is done, with the future as its
    /// argument: never inside the call that completes it, but soon after (as
    /// <see cref="EventLoop.CallSoon"/> callbacks), in the order callbacks were added. Added to a
    /// done future, it runs soon. A callback that throws is reported through
    /// <see cref="EventLoop.UnhandledException"/> (naming the future), and the next callbacks still
    /// run. Adding one counts as observing the future's failure. Not a yield point.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Called from another thread than the future's loop.</exception>
    public void AddDoneCallback(Action<Future> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        _loop.CheckThread("Future.AddDoneCallback");
        _observed = true;
        if (_state >= State.Succeeded)
        {
            _loop.CallSoon(() => RunCallback(callback));
            return;
        }
        (_callbacks ??= new List<Action<Future>>(2)).Add(callback);
    }

    private void RunCallback(Action<Future> callback)
    {
        try
        {
            callback(this);
        }
        catch (Exception e)
        {
            _loop.Report(e, null, $"a done callback of {this}");
        }
    }

    // --- completion ----------------------------------------------------------------------------

    /// <summary>Succeeds the pending or running future; <see cref="Future{T}"/> has stored its value.</summary>
    private protected void CompleteSucceeded() => Complete(State.Succeeded, null);

    private void Complete(State state, Exception? error)
    {
        Debug.Assert(_state < State.Succeeded && state >= State.Succeeded);
        _state = state;
        _error = error;
        while (_waiters.TakeFirst() is { } waiter) ((IFutureWaiter)waiter).OnFutureDone();
        if (_callbacks is not null) ScheduleCallbacks();
    }

    // Separate from Complete: the closure would otherwise be allocated on every completion.
    private void ScheduleCallbacks()
    {
        var callbacks = _callbacks!;
        _callbacks = null;
        _loop.CallSoon(() =>
        {
            foreach (var callback in callbacks) RunCallback(callback);
        });
    }

    // --- for executors and waits ------------------------------------------------------------------

    internal bool IsDoneCore => _state >= State.Succeeded;

    internal bool IsFailedCore => _state == State.Failed;

    internal bool Succeeded => _state == State.Succeeded;

    internal EventLoop Loop => _loop;

    /// <summary>Records that someone was handed the outcome: a failure is then not reported at shutdown.</summary>
    internal void MarkObserved() => _observed = true;

    /// <summary>Failed with a real error (not a worker's kill) that nobody has been handed yet.</summary>
    internal bool HasUnobservedFailure => _state == State.Failed && !_observed && _error is not TaskletExit;

    internal Exception? ErrorUnchecked => _error;

    /// <summary>Throws the outcome for a consumer, unless the future succeeded; marks it observed.</summary>
    internal void ThrowIfUnsuccessful()
    {
        Debug.Assert(_state >= State.Succeeded);
        _observed = true;
        if (_state == State.Succeeded) return;
        ExceptionDispatchInfo.Throw(ErrorForConsumer());
    }

    /// <summary>What a consumer gets for a failed or cancelled future: a worker's kill becomes a TaskletKilledException.</summary>
    internal Exception ErrorForConsumer() =>
        _error is TaskletExit && _killedWorker is { } worker ? new TaskletKilledException(worker) : _error!;

    // --- messages ------------------------------------------------------------------------------

    private protected InvalidOperationException NotDone(string member) =>
        new($"{this} is not done: {member} can be read once it is (await it, or its ResultAsync, to wait).");

    private protected InvalidOperationException AlreadyDone(string member) => new(_state == State.Canceled
        ? $"{member}: {this} was cancelled, and a cancelled future cannot be set."
        : $"{member}: {this} already finished, and a future is set once (TrySetResult/TrySetException return false instead).");

    internal static string Describe(TimeSpan? timeout) => timeout switch
    {
        null => "no time limit",
        { TotalSeconds: >= 1 } t => $"{t.TotalSeconds:0.###} s",
        { } t => $"{t.TotalMilliseconds:0.###} ms",
    };

    private protected abstract string TypeName { get; }

    /// <summary>"Future&lt;Int32&gt; #3", the way messages name the future.</summary>
    internal string Name => $"{TypeName} #{_id}";

    /// <summary>Names the future and its state, e.g. "Future&lt;Int32&gt; #3 (running, from TaskletPoolExecutor #1)".</summary>
    public override string ToString()
    {
        string state = _state switch
        {
            State.Pending => "pending",
            State.Running => "running",
            State.Succeeded => "succeeded",
            State.Failed => $"failed with {_error!.GetType().Name}",
            _ => "cancelled",
        };
        return _executor is null ? $"{Name} ({state})" : $"{Name} ({state}, from {_executor.Describe()})";
    }
}
