using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace Evergreen;

/// <summary>
/// One tasklet's wait in <see cref="Future{T}.ResultAsync"/>: a pooled node that is the ValueTask
/// source the caller awaits. It forwards the await to the tasklet's own park (the tasklet sits in
/// the future's WaitQueue) and, in GetResult, turns the park's outcome into the future's: value,
/// rethrown failure, or timeout. An async method would allocate a box and a post per wake; this
/// allocates nothing in steady state (Offload's pattern). Loop thread only.
/// </summary>
[DebuggerDisplay("waiting on {_future,nq}")]
internal sealed class FutureWaiter<T> : IValueTaskSource<T>, IValueTaskSource
{
    [ThreadStatic] private static FutureWaiter<T>? t_free;

    private Future<T>? _future;
    private Tasklet? _tasklet;
    private TimeSpan? _timeout;
    private short _token;
    private FutureWaiter<T>? _nextFree;

    /// <summary>Parks the current tasklet until <paramref name="future"/> is done; await the node with <see cref="Token"/>.</summary>
    internal static FutureWaiter<T> Begin(Future<T> future, TimeSpan? timeout, long timeoutTicks)
    {
        var tasklet = future.BeginWait("Future.ResultAsync", timeoutTicks); // throws outside a tasklet
        var node = t_free;
        if (node is not null) t_free = node._nextFree;
        else node = new FutureWaiter<T>();
        node._nextFree = null;
        node._future = future;
        node._tasklet = tasklet;
        node._timeout = timeout;
        node._token = tasklet._version;
        return node;
    }

    internal short Token => _token;

    private IValueTaskSource<bool> Park(short token)
    {
        if (_tasklet is null || token != _token)
        {
            throw new InvalidOperationException("a Future.ResultAsync ValueTask was awaited twice, or after it completed (await it exactly once).");
        }
        return _tasklet;
    }

    public ValueTaskSourceStatus GetStatus(short token) => Park(token).GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        Park(token).OnCompleted(continuation, state, token, flags);

    public T GetResult(short token)
    {
        Park(token);
        var future = _future!;
        var tasklet = _tasklet!;
        var timeout = _timeout;
        _future = null;
        _tasklet = null;
        _nextFree = t_free;
        t_free = this;
        if (!future.EndWait(tasklet, token)) throw future.TimeoutError(timeout); // or the kill, the scope
        future.ThrowIfUnsuccessful();
        return future.ValueUnchecked;
    }

    void IValueTaskSource.GetResult(short token) => GetResult(token);
}
