using System.Diagnostics;

namespace Evergreen;

/// <summary>
/// One tasklet's wait in <see cref="Future{T}.ResultAsync"/>: a pooled
/// <see cref="ParkedOperation{TResult}"/> in the future's wait list, completed when the future is
/// done; <see cref="Finish"/> turns that into the future's outcome (value, rethrown failure, or
/// the timeout's <see cref="TimeoutException"/>). Allocates nothing in steady state. Loop thread only.
/// </summary>
[DebuggerDisplay("waiting on {_future,nq}")]
internal sealed class FutureWaiter<T> : ParkedOperation<T>, IFutureWaiter
{
    [ThreadStatic] private static WaitList<FutureWaiter<T>> t_free;

    private Future<T>? _future;
    private TimeSpan? _timeout;

    /// <summary>Parks the current tasklet until <paramref name="future"/> (not done) is done.</summary>
    internal static ValueTask<T> WaitAsync(Future<T> future, TimeSpan? timeout)
    {
        var node = Rent(future, timeout);
        var wait = node.ParkAsync("Future.ResultAsync", timeout); // throws outside a tasklet
        future.AddWaiter(node);
        return wait;
    }

    /// <inheritdoc cref="WaitAsync"/>
    internal static ValueTask WaitVoidAsync(Future<T> future, TimeSpan? timeout)
    {
        var node = Rent(future, timeout);
        var wait = node.ParkVoidAsync("Future.ResultAsync", timeout);
        future.AddWaiter(node);
        return wait;
    }

    private static FutureWaiter<T> Rent(Future<T> future, TimeSpan? timeout)
    {
        var node = t_free.TakeFirst() ?? new FutureWaiter<T>();
        node._future = future;
        node._timeout = timeout;
        return node;
    }

    void IFutureWaiter.OnFutureDone() => Complete();

    protected override T Finish(bool completed)
    {
        var future = _future!;
        if (!completed) throw future.TimeoutError(_timeout);
        future.ThrowIfUnsuccessful();
        return future.ValueUnchecked;
    }

    protected override bool TryRecall()
    {
        _future!.RemoveWaiter(this);
        return true;
    }

    protected override void OnIdle()
    {
        _future = null;
        t_free.AddLast(this);
    }

    public override string ToString() => $"{_future} to be done";
}

/// <summary>A wait in a future's wait list: told, synchronously, when the future is done (it must not throw or run user code).</summary>
internal interface IFutureWaiter
{
    void OnFutureDone();
}
