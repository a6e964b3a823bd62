// A reusable operation that a tasklet awaits as a ValueTask over its own park.
//
// Many waits need a little work after the wake: copy the bytes that arrived, rethrow a libuv
// status, hand back a value. Doing that work in an async method costs a state-machine box per
// wait; instead, the operation node is the ValueTask's source: it forwards GetStatus and
// OnCompleted to the tasklet's park and does its work in GetResult, after the park has ended
// (which throws a kill or an expired scope first). The node is the park's owner too, so it
// hears aborts. A node serves one wait at a time and is reused, so a wait allocates nothing.
//
// Must never: be awaited twice, or be reused before GetResult ran (subclasses track "busy").

using System.Threading.Tasks.Sources;

namespace Evergreen;

/// <summary>
/// The source of a ValueTask that completes when the current tasklet's park ends; subclasses do
/// their work in <see cref="Finish"/>. Loop thread only.
/// </summary>
internal abstract class ParkedOperation<TResult> : IParkOwner, IValueTaskSource<TResult>, IValueTaskSource
{
    private Tasklet? _tasklet;
    private short _token;

    /// <summary>The tasklet parked on this operation, while it is.</summary>
    private protected Tasklet? Waiter => _tasklet;

    /// <summary>True while a tasklet waits on this operation (from Park to GetResult).</summary>
    private protected bool IsWaiting => _tasklet is not null;

    /// <summary>Parks the current tasklet on this operation; await <see cref="AsValueTask"/> at once.</summary>
    private protected void Park(Tasklet tasklet, long timeoutTicks = -1)
    {
        tasklet.BeginPark(this, timeoutTicks, yielding: false);
        _tasklet = tasklet;
        _token = tasklet._version;
    }

    private protected ValueTask<TResult> AsValueTask() => new(this, _token);

    private protected ValueTask AsPlainValueTask() => new(this, _token);

    /// <summary>Wakes the parked tasklet (it runs <see cref="Finish"/> when it resumes).</summary>
    private protected void Wake() => _tasklet!.Unpark();

    /// <summary>Runs in the waiter when it resumes: <paramref name="woken"/> is false when the park's own timeout passed.</summary>
    private protected abstract TResult Finish(bool woken);

    /// <summary>A kill, an expired scope or the timeout ended the wait; undo what must be undone (no user code).</summary>
    public virtual void AbortPark(Tasklet tasklet) { }

    ValueTaskSourceStatus IValueTaskSource<TResult>.GetStatus(short token) => ((IValueTaskSource<bool>)_tasklet!).GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => ((IValueTaskSource<bool>)_tasklet!).GetStatus(token);

    void IValueTaskSource<TResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        ((IValueTaskSource<bool>)_tasklet!).OnCompleted(continuation, state, token, flags);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        ((IValueTaskSource<bool>)_tasklet!).OnCompleted(continuation, state, token, flags);

    TResult IValueTaskSource<TResult>.GetResult(short token) => End(token);

    void IValueTaskSource.GetResult(short token) => End(token);

    private TResult End(short token)
    {
        var tasklet = _tasklet ?? throw new InvalidOperationException("an operation's ValueTask was awaited twice, or after it ended (await it exactly once)");
        bool woken;
        try
        {
            woken = ((IValueTaskSource<bool>)tasklet).GetResult(token);
        }
        catch
        {
            _tasklet = null;
            throw;
        }
        _tasklet = null;
        return Finish(woken);
    }
}
