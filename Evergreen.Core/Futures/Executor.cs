// Executors: run submitted calls with bounded concurrency and hand back futures (Python's
// concurrent.futures.Executor, made cooperative).
//
// The base class owns what the two executors share: the FIFO of queued calls, submission and its
// checks, shutdown (wait for the calls, cancel the queued ones), MapAsync, and the bookkeeping of
// failures nobody observed. A subclass decides how queued calls run: TaskletPoolExecutor on worker
// tasklets spawned on demand, ThreadPoolExecutor on .NET thread-pool threads. It is told when a
// call is queued (OnQueued), pulls calls with TryTakeNext (which skips cancelled ones and marks the
// rest running), finishes each with Finish, and says whether it is idle; the base wakes
// ShutdownAsync's waiters through CheckIdle.
//
// Every call runs inside the bound: an async function (Task or ValueTask) is awaited as part of its
// call, and an async lambda, which fits every overload, is a Task (OverloadResolutionPriority). A
// synchronous call whose value is a task, reachable only by naming the task type, is refused: its
// work would run outside the bound, and on a tasklet worker would park the worker behind its back.
//
// Nothing fails silently: the futures of calls that failed are remembered (a list compacted as it
// grows), and when the executor has shut down and drained (ShutdownAsync with wait, DisposeAsync)
// each failure still unobserved is reported through the loop's UnhandledException. A worker's kill
// (TaskletExit) is never reported, as for tasklets.
//
// Must never: run a call whose future was cancelled, run more calls at once than the subclass's
// bound, or touch the queue off the loop thread.

using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Evergreen;

/// <summary>
/// Runs calls concurrently and returns a <see cref="Future{T}"/> for each (Python's
/// <c>concurrent.futures.Executor</c>): <see cref="Submit{T}(Func{T})"/> one call,
/// <see cref="MapAsync{TItem, TResult}(Func{TItem, TResult}, IEnumerable{TItem}, TimeSpan?)"/> a
/// function over many items, <see cref="ShutdownAsync"/> (or <c>await using</c>) to finish. The
/// kinds are <see cref="TaskletPoolExecutor"/> (calls run as tasklets on the loop: I/O-bound code)
/// and <see cref="ThreadPoolExecutor"/> (calls run on .NET thread-pool threads: blocking or
/// CPU-bound code).
/// <code>
/// await using var pool = new TaskletPoolExecutor(maxWorkers: 10);
/// await foreach (var page in pool.MapAsync(FetchAsync, urls)) Console.WriteLine(page.Length);
/// </code>
/// A call's failure is in its future; a failure that nobody observed (awaited the future, read its
/// <see cref="Future{T}.Result"/> or <see cref="Future.Exception"/>, added a done callback, or got
/// it back from <see cref="Futures.WaitAsync{TFuture}"/>, <see cref="Futures.AsCompleted{TFuture}"/>
/// or MapAsync) by the time the executor has shut down with a wait (or was disposed) is reported
/// through <see cref="EventLoop.UnhandledException"/>. Loop thread only: an executor belongs to the
/// loop of the thread that created it.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public abstract partial class Executor : IAsyncDisposable
{
    private static int s_lastId;

    private protected readonly EventLoop _loop;
    private readonly int _id;
    private readonly Queue<ExecutorCall> _queue = new();
    private WaitQueue? _idleWaiters;
    private List<Future>? _failures;
    private int _compactAt = 64;
    private bool _shutdown;

    private protected Executor()
    {
        _loop = EventLoop.Current;
        _id = Interlocked.Increment(ref s_lastId);
    }

    /// <summary>A number unique in this process among executors, in creation order.</summary>
    public int Id => _id;

    /// <summary>True once <see cref="ShutdownAsync"/> (or <see cref="DisposeAsync"/>) was called: no call can be submitted. Not a yield point.</summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the executor's loop.</exception>
    public bool IsShutdown
    {
        get
        {
            _loop.CheckThread("Executor.IsShutdown");
            return _shutdown;
        }
    }

    // --- submitting --------------------------------------------------------------------------------

    /// <summary>
    /// Queues <paramref name="call"/> and returns its future, which ends with the call's value or
    /// exception. The call runs when a worker is free, in submission order. Not a yield point.
    /// An async function (a lambda marked <c>async</c>, or one returning a <see cref="Task"/> or
    /// <see cref="ValueTask"/>) binds to the async overloads instead, whose call lasts until its
    /// task completes.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <typeparamref name="T"/> is a <see cref="Task"/> or <see cref="ValueTask"/> type (named
    /// explicitly): the future would hold the task rather than its result, and its work would run
    /// outside the executor's bound. Submit the async function itself.
    /// </exception>
    /// <exception cref="InvalidOperationException">The executor is shut down, or called from another thread than its loop.</exception>
    public Future<T> Submit<T>(Func<T> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        RefuseTaskResult<T>("Executor.Submit", nameof(call));
        var future = NewFuture<T>("Executor.Submit");
        Enqueue(new FuncCall<T>(future, call));
        return future;
    }

    /// <summary>
    /// Queues the async <paramref name="call"/> and returns its future, which ends with the value or
    /// exception of the call's task; the call counts as running until that task completes. An
    /// <c>async</c> lambda binds here. See <see cref="Submit{T}(Func{T})"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The executor is shut down, or called from another thread than its loop.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits the Func<T>, Task and ValueTask forms: it is a Task
    public Future<T> Submit<T>(Func<Task<T>> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var future = NewFuture<T>("Executor.Submit");
        Enqueue(new AsyncFuncCall<T>(future, call));
        return future;
    }

    /// <summary>
    /// Queues the async <paramref name="call"/> returning a <see cref="ValueTask{TResult}"/> (say
    /// <c>() =&gt; session.GetAsync(url)</c>) and returns its future, which ends with the value or
    /// exception of that ValueTask; the call counts as running until it completes. See
    /// <see cref="Submit{T}(Func{T})"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The executor is shut down, or called from another thread than its loop.</exception>
    public Future<T> Submit<T>(Func<ValueTask<T>> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var future = NewFuture<T>("Executor.Submit");
        Enqueue(new ValueTaskFuncCall<T>(future, call));
        return future;
    }

    /// <summary>
    /// Queues <paramref name="call"/> and returns its future (a <see cref="Future{T}"/> of
    /// <see cref="object"/> whose value is null). See <see cref="Submit{T}(Func{T})"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The executor is shut down, or called from another thread than its loop.</exception>
    public Future Submit(Action call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var future = NewFuture<object?>("Executor.Submit");
        Enqueue(new ActionCall(future, call));
        return future;
    }

    /// <summary>
    /// Queues the async <paramref name="call"/> and returns its future (a <see cref="Future{T}"/> of
    /// <see cref="object"/> whose value is null). See <see cref="Submit{T}(Func{T})"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The executor is shut down, or called from another thread than its loop.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits the Action, Task and ValueTask forms: it is a Task
    public Future Submit(Func<Task> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var future = NewFuture<object?>("Executor.Submit");
        Enqueue(new AsyncActionCall(future, call));
        return future;
    }

    /// <summary>
    /// Queues the async <paramref name="call"/> returning a <see cref="ValueTask"/> (say
    /// <c>() =&gt; Tasklet.Sleep(TimeSpan.FromSeconds(1))</c>) and returns its future (a <see cref="Future{T}"/> of
    /// <see cref="object"/> whose value is null). See <see cref="Submit{T}(Func{T})"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The executor is shut down, or called from another thread than its loop.</exception>
    public Future Submit(Func<ValueTask> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var future = NewFuture<object?>("Executor.Submit");
        Enqueue(new ValueTaskActionCall(future, call));
        return future;
    }

    /// <summary>
    /// Refuses a synchronous call whose value is a task (reachable only by naming the type
    /// arguments): its future would hold the task, and the task's work would go on after the call
    /// "finished", outside the executor's bound (a tasklet worker would even find itself parked
    /// by it).
    /// </summary>
    private protected static void RefuseTaskResult<T>(string member, string paramName)
    {
        if (!TaskResult<T>.IsTask) return;
        throw new ArgumentException(
            $"{member}: the function returns {TaskResult<T>.Display(typeof(T))}, a task, and was given as a synchronous call: its future would hold the task, " +
            "not its result, and the task's work would run outside the executor's bound. Pass the async function to the overload that awaits it (do not name the task type as the result type).",
            paramName);
    }

    private protected Future<T> NewFuture<T>(string member)
    {
        _loop.CheckThread(member);
        if (_shutdown)
        {
            throw new InvalidOperationException($"{member}: the executor is shut down ({Describe()} accepts no calls after ShutdownAsync or DisposeAsync).");
        }
        return new Future<T>(_loop, this);
    }

    private protected void Enqueue(ExecutorCall call)
    {
        _queue.Enqueue(call);
        OnQueued();
    }

    // --- for the executors ---------------------------------------------------------------------------

    /// <summary>A call was queued: start a worker if the bound allows (loop thread).</summary>
    private protected abstract void OnQueued();

    /// <summary>True when no call runs, none is queued, and no worker is left.</summary>
    private protected abstract bool IsIdle { get; }

    /// <summary>How many calls are queued (cancelled ones included until they are skipped).</summary>
    private protected int QueuedCount => _queue.Count;

    /// <summary>Takes the next queued call to run, skipping cancelled ones; its future is now running.</summary>
    private protected bool TryTakeNext([NotNullWhen(true)] out ExecutorCall? call)
    {
        while (_queue.TryDequeue(out call))
        {
            if (call.Future.TryStart()) return true;
        }
        return false;
    }

    /// <summary>Hands a finished call's outcome to its future, and remembers a failure for the shutdown report.</summary>
    private protected void Finish(ExecutorCall call)
    {
        call.Publish();
        var future = call.Future;
        if (future.HasUnobservedFailure) RememberFailure(future);
    }

    /// <summary>Wakes ShutdownAsync's waiters once the executor is idle.</summary>
    private protected void CheckIdle()
    {
        if (_idleWaiters is { IsEmpty: false } waiters && IsIdle) waiters.UnparkAll();
    }

    /// <summary>Refuses a wait that could never end (TaskletPoolExecutor: its own worker waiting for it).</summary>
    private protected virtual void CheckCanWait(Tasklet waiter, string member) { }

    private void RememberFailure(Future future)
    {
        var failures = _failures ??= new List<Future>();
        if (failures.Count >= _compactAt)
        {
            failures.RemoveAll(f => !f.HasUnobservedFailure);
            _compactAt = Math.Max(64, failures.Count * 2);
        }
        failures.Add(future);
    }

    private void ReportUnobservedFailures()
    {
        if (_failures is not { } failures) return;
        _failures = null;
        foreach (var future in failures)
        {
            if (!future.HasUnobservedFailure) continue;
            future.MarkObserved();
            _loop.Report(future.ErrorUnchecked!, null,
                $"{future.Name}, a call submitted to {Describe()} (it failed, and nobody observed the failure before the executor shut down)");
        }
    }

    // --- shutting down -------------------------------------------------------------------------------

    /// <summary>
    /// Stops accepting calls (<see cref="Submit{T}(Func{T})"/> then throws). With
    /// <paramref name="cancelPending"/>, the queued calls that have not started are cancelled first
    /// (their futures end cancelled). With <paramref name="wait"/>, parks until every submitted call
    /// has finished and, for a <see cref="TaskletPoolExecutor"/>, every worker has ended; then
    /// reports the failures nobody observed (see <see cref="Executor"/>). Without it, returns at
    /// once and the queued calls still run. Calling it again is harmless. A yield point when it
    /// waits for running calls; a kill or an expired <see cref="CancelScope"/> ends the wait (the
    /// executor stays shut down, its calls go on).
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// <paramref name="wait"/> is true and this is not a tasklet (or it is one of the executor's own
    /// workers, which would wait for itself), or called from another thread than the executor's loop.
    /// </exception>
    public ValueTask ShutdownAsync(bool wait = true, bool cancelPending = false)
    {
        _loop.CheckThread("Executor.ShutdownAsync");
        if (wait)
        {
            var me = Tasklet.RequireCurrent("Executor.ShutdownAsync(wait: true)");
            CheckCanWait(me, "Executor.ShutdownAsync(wait: true)");
        }
        _shutdown = true;
        if (cancelPending)
        {
            while (_queue.TryDequeue(out var call)) call.Future.Cancel();
            CheckIdle();
        }
        if (!wait) return default;
        if (IsIdle)
        {
            ReportUnobservedFailures();
            return default;
        }
        return WaitIdleAsync();
    }

    private async ValueTask WaitIdleAsync()
    {
        var waiters = _idleWaiters ??= new WaitQueue(this);
        while (!IsIdle) await waiters.ParkAsync();
        ReportUnobservedFailures();
    }

    /// <summary>
    /// <see cref="ShutdownAsync"/> with <c>wait: true</c>: waits for every submitted call, then
    /// reports unobserved failures. A yield point when calls are still running.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not called from a tasklet (or from one of the executor's own workers), or from another thread than the executor's loop.</exception>
    public ValueTask DisposeAsync() => ShutdownAsync(wait: true);

    // --- naming --------------------------------------------------------------------------------------

    /// <summary>"TaskletPoolExecutor #1", the way messages name the executor.</summary>
    internal string Describe() => $"{GetType().Name} #{_id}";

    /// <summary>What the subclass adds to <see cref="ToString"/>: its bound and what runs.</summary>
    private protected abstract string StateDisplay { get; }

    /// <summary>Names the executor and its state, e.g. "TaskletPoolExecutor #1 (4 workers at most, 2 running, 3 queued)".</summary>
    public override string ToString() =>
        $"{Describe()} ({StateDisplay}, {_queue.Count} queued{(_shutdown ? ", shut down" : "")})";
}
