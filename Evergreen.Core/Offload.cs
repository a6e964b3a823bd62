// Thread-pool offload: run blocking or CPU-bound code on a .NET thread-pool thread while the
// tasklet parks and the loop keeps serving everyone else.
//
// One pooled node per call is at once the thread-pool work item (IThreadPoolWorkItem), the owner
// of the tasklet's park (IParkOwner) and the ValueTask source the caller awaits: it forwards the
// await to the tasklet's own park and hands back the result in GetResult, so an offload allocates
// nothing in steady state beyond what the work itself does. The worker thread comes back through
// the loop's one thread-safe door (CallFromThread), and the loop is held open while work is out.
//
// A kill or an expired scope ends the wait at once; the work itself cannot be stopped (threads
// are not cancellable), so it finishes on its own and its result or exception is dropped. Must
// never: touch the tasklet from the worker thread, or reuse a node before the worker is done.

using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Evergreen;

/// <summary>
/// Runs a function on the .NET thread pool and parks the current tasklet until it returns: the
/// one-line thread offload (Evergreen's <c>threadpool</c>), for blocking calls (a synchronous
/// library, <see cref="Thread.Sleep(int)"/>, file I/O) and CPU-bound work.
/// <code>int n = await Offload.RunAsync(() => CountLines(path));</code>
/// While the work runs, the loop serves the other tasklets. A yield point.
/// </summary>
public static class Offload
{
    /// <summary>
    /// Runs <paramref name="work"/> on a thread-pool thread and returns its value, or rethrows its
    /// exception. Killing the tasklet (or an expiring <see cref="CancelScope"/>) ends the wait at
    /// once with <see cref="TaskletExit"/> (or <see cref="TimeoutException"/>); the work cannot be
    /// stopped, so it runs to its end on its thread and its result is dropped, and the loop stays
    /// alive until it has. Pass <see cref="Tasklet.CancellationToken"/> into work that can stop
    /// early. Await the result at once (it is the tasklet's park).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="work"/> returns a task (an async
    /// lambda): offload is for synchronous work; the task would run on unawaited, on a thread
    /// where no loop is.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static ValueTask<T> RunAsync<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (TaskResult<T>.IsTask)
        {
            throw new ArgumentException(
                $"Offload.RunAsync: the work returns {TaskResult<T>.Display(typeof(T))}, a task: offload runs synchronous work on a thread-pool thread, and an async " +
                "function's task would be handed back unawaited, its work going on where no loop is (its Evergreen calls would fail unseen). Await the async function in the tasklet " +
                "itself (its waits park the tasklet), and offload only its blocking, synchronous part.",
                nameof(work));
        }
        var node = OffloadWork<T>.Begin(work, null);
        return new ValueTask<T>(node, node.Token);
    }

    /// <summary>Runs <paramref name="work"/> on a thread-pool thread; see <see cref="RunAsync{T}(Func{T})"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static ValueTask RunAsync(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var node = OffloadWork<bool>.Begin(null, work);
        return new ValueTask(node, node.Token);
    }
}

/// <summary>One offloaded call: work item, park owner and awaited source in one pooled object.</summary>
[DebuggerDisplay("{ToString(),nq}")]
internal sealed class OffloadWork<T> : IThreadPoolWorkItem, IParkOwner, IValueTaskSource<T>, IValueTaskSource
{
    [ThreadStatic] private static OffloadWork<T>? t_free;

    private readonly Action _complete;
    private EventLoop? _loop;
    private Tasklet? _tasklet;
    private Func<T>? _func;
    private Action? _action;
    private T _result = default!;
    private Exception? _error;
    private bool _abandoned;  // the wait ended early (kill, scope): drop the result
    private bool _finished;   // the worker is done
    private bool _handedBack; // GetResult ran: the node may be reused once the worker is done too
    private short _token;
    private OffloadWork<T>? _nextFree;

    private OffloadWork() => _complete = CompleteOnLoop;

    /// <summary>Parks the current tasklet on a node and queues the work; await the node with <see cref="Token"/>.</summary>
    internal static OffloadWork<T> Begin(Func<T>? func, Action? action)
    {
        var tasklet = Tasklet.RequireCurrent("Offload.RunAsync");
        var node = t_free;
        if (node is not null) t_free = node._nextFree;
        else node = new OffloadWork<T>();
        node._nextFree = null;
        node._loop = tasklet.Loop!;
        node._tasklet = tasklet;
        node._func = func;
        node._action = action;
        node._abandoned = node._finished = node._handedBack = false;
        tasklet.BeginPark(node, -1, yielding: false);
        node._token = tasklet._version;
        node._loop.AddHold();
        ThreadPool.UnsafeQueueUserWorkItem(node, preferLocal: false);
        return node;
    }

    /// <summary>The token of the tasklet's park this node forwards to.</summary>
    internal short Token => _token;

    // --- the worker thread -------------------------------------------------------------------

    void IThreadPoolWorkItem.Execute()
    {
        try
        {
            if (_func is not null) _result = _func();
            else _action!();
        }
        catch (Exception e)
        {
            _error = e;
        }
        _func = null;
        _action = null;
        if (!_loop!.PostFromThread(_complete))
        {
            // The loop is gone: nobody waits any more, and the node is simply dropped.
            _loop = null;
        }
    }

    // --- back on the loop --------------------------------------------------------------------

    private void CompleteOnLoop()
    {
        _finished = true;
        var loop = _loop!;
        loop.ReleaseHold();
        if (_abandoned || _handedBack)
        {
            Recycle();
            return;
        }
        var tasklet = _tasklet!;
        if (IsTaskletsPark(tasklet))
        {
            // Awaited: wake it. Not awaited yet (the caller went on to await something else
            // first): OnCompleted wakes it when the await comes.
            if (tasklet.IsParked) tasklet.Unpark();
            return;
        }
        // The tasklet ended without ever awaiting the call: nobody will read the outcome.
        ReportNeverAwaited(loop, tasklet);
        Recycle();
    }

    /// <summary>Whether the tasklet is alive and its current park (parked or not yet awaited) is this call.</summary>
    private bool IsTaskletsPark(Tasklet tasklet) =>
        tasklet.IsAlive && tasklet._version == _token && ReferenceEquals(tasklet.ParkOwner, this);

    private void ReportNeverAwaited(EventLoop loop, Tasklet tasklet)
    {
        string where = $"offloaded work of {tasklet.Describe()}";
        if (_error is { } error)
        {
            loop.Report(error, null, $"{where}, whose result was never awaited");
        }
        else if (tasklet.State == TaskletState.Completed)
        {
            // A tasklet that failed or was killed has had its say (often the clear error of its
            // next park, which found this call's park still pending): no second report then.
            loop.Report(new InvalidOperationException(
                $"Offload.RunAsync in {tasklet.Describe()} was never awaited: the tasklet ended first and the work's result was dropped " +
                "(await the call at once: it is the tasklet's park)."), null, where);
        }
    }

    void IParkOwner.AbortPark(Tasklet tasklet) => _abandoned = true;

    private void Recycle()
    {
        _tasklet = null;
        _loop = null;
        _result = default!;
        _error = null;
        _nextFree = t_free;
        t_free = this;
    }

    // --- the awaited source: the tasklet's own park, with the work's outcome ----------------------

    private IValueTaskSource<bool> Park => _tasklet!;

    public ValueTaskSourceStatus GetStatus(short token) => Park.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        var tasklet = _tasklet!;
        Park.OnCompleted(continuation, state, token, flags);
        // The work finished before the await came (the caller awaited an ordinary task first):
        // the park is registered now, so wake it. A pending kill may have aborted it already.
        if (_finished && tasklet.IsParked && ReferenceEquals(tasklet.ParkOwner, this)) tasklet.Unpark();
    }

    public T GetResult(short token)
    {
        var park = Park;
        try
        {
            park.GetResult(token); // throws the kill or the scope's timeout: the work is abandoned
        }
        catch
        {
            Release();
            throw;
        }
        var result = _result;
        var error = _error;
        Release();
        if (error is not null) ExceptionDispatchInfo.Throw(error);
        return result;
    }

    void IValueTaskSource.GetResult(short token) => GetResult(token);

    /// <summary>The caller is done with the node: pool it now, or when the worker finishes.</summary>
    private void Release()
    {
        _handedBack = true;
        if (_finished) Recycle();
    }

    public override string ToString() => _tasklet is null
        ? "offloaded work (idle)"
        : $"offloaded work on the thread pool ({_func?.Method.Name ?? _action?.Method.Name ?? "finished"})";
}
