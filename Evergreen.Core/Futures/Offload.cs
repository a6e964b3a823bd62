// Thread-pool offload: run blocking or CPU-bound code on a .NET thread-pool thread while the
// tasklet parks and the loop keeps serving everyone else.
//
// One pooled node per call is at once the thread-pool work item (IThreadPoolWorkItem) and the
// ParkedOperation the caller awaits (Park/ParkedOperation.cs), so an offload allocates nothing in
// steady state beyond what the work itself does. The worker thread comes back through
// the loop's one thread-safe door (CallFromThread), and the loop is held open while work is out.
//
// A kill or an expired scope ends the wait at once; the work itself cannot be stopped (threads
// are not cancellable): TryRecall says so, the base detaches the node, and the work's result or
// exception is dropped when it comes (the base's one rule). Must never: touch the tasklet or the
// node's park state from the worker thread (the completion runs on the loop, through
// CallFromThread's door).


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
        return OffloadWork<T>.RunAsync(work);
    }

    /// <summary>Runs <paramref name="work"/> on a thread-pool thread; see <see cref="RunAsync{T}(Func{T})"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static ValueTask RunAsync(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return OffloadWork<bool>.RunAsync(work);
    }
}

/// <summary>
/// One offloaded call (a request: one per call, its node pooled per thread): the thread-pool work
/// item, and the <see cref="ParkedOperation{TResult}"/> the caller awaits. It cannot be recalled
/// (a thread runs it): an aborted wait detaches it, and its completion is dropped.
/// </summary>
internal sealed class OffloadWork<T> : ParkedOperation<T>, IThreadPoolWorkItem
{
    [ThreadStatic] private static WaitList<OffloadWork<T>> t_free;

    private readonly Action _complete;
    private EventLoop? _loop;
    private Func<T>? _func;
    private Action? _action;
    private T _result = default!;
    private Exception? _error;

    private OffloadWork() => _complete = CompleteOnLoop;

    /// <summary>Parks the current tasklet on a pooled node and queues the work.</summary>
    internal static ValueTask<T> RunAsync(Func<T> func) => Rent().Start(func, null);

    /// <inheritdoc cref="RunAsync(Func{T})"/>
    internal static ValueTask RunAsync(Action action)
    {
        var node = Rent();
        var wait = node.ParkVoidAsync("Offload.RunAsync");
        node.Queue(null, action);
        return wait;
    }

    private static OffloadWork<T> Rent() => t_free.TakeFirst() ?? new OffloadWork<T>();

    private ValueTask<T> Start(Func<T> func, Action? action)
    {
        var wait = ParkAsync("Offload.RunAsync");
        Queue(func, action);
        return wait;
    }

    private void Queue(Func<T>? func, Action? action)
    {
        _loop = Waiter!.Loop!;
        _func = func;
        _action = action;
        _loop.AddHold();
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

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
        _loop!.ReleaseHold();
        var error = _error;
        _error = null;
        if (error is not null) Complete(error); else Complete();
    }

    protected override T Finish(bool completed)
    {
        var result = _result;
        _result = default!;
        return result;
    }

    // A thread runs the work: it cannot be taken back. The wait ends at once; the result is dropped.
    protected override bool TryRecall() => false;

    protected override void OnNeverAwaited(Tasklet tasklet, Exception? error)
    {
        var loop = _loop!;
        string where = $"offloaded work of {tasklet.Describe()}";
        if (error is not null)
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

    protected override void OnIdle()
    {
        _loop = null;
        _result = default!;
        _error = null;
        t_free.AddLast(this);
    }

    public override string ToString() => IsBusy
        ? $"offloaded work on the thread pool ({_func?.Method.Name ?? _action?.Method.Name ?? "finished"})"
        : "offloaded work (idle)";
}
