// The internal side of waiting on futures: the future's wait list of ParkedOperations
// (FutureWaiter, Executor.MapAsync's results), completed when it is done, and the hook list
// that Futures.WaitAsync and AsCompleted use to hear about many futures at once. See Future.cs.

using System.Diagnostics;

namespace Evergreen;

public abstract partial class Future
{
    /// <summary>Queues a wait (parked, the future not done) to be completed when the future is done.</summary>
    internal void AddWaiter(WaitNode waiter)
    {
        Debug.Assert(_state < State.Succeeded && waiter is IFutureWaiter);
        _waiters.AddLast(waiter);
    }

    /// <summary>Takes a recalled wait out of the list.</summary>
    internal void RemoveWaiter(WaitNode waiter) => _waiters.Remove(waiter);

    /// <summary>How many tasklets wait in ResultAsync (tests, dumps).</summary>
    internal int WaiterCount => CountWaiting(hooks: false);

    /// <summary>How many internal hooks are attached (tests: a wait leaves none behind).</summary>
    internal int HookCount => CountWaiting(hooks: true);

    private int CountWaiting(bool hooks)
    {
        int n = 0;
        foreach (var node in _waiters) if (node is FutureHook == hooks) n++;
        return n;
    }

    internal TimeoutException TimeoutError(TimeSpan? timeout) =>
        new($"{this} was not done within {Describe(timeout)}");

    internal void AddHook(FutureHook hook)
    {
        Debug.Assert(_state < State.Succeeded && hook.Future is null);
        hook.Future = this;
        _waiters.AddLast(hook);
    }

    internal void RemoveHook(FutureHook hook)
    {
        if (!ReferenceEquals(hook.Future, this)) return;
        _waiters.Remove(hook);
        hook.Future = null;
    }
}

/// <summary>
/// An internal listener on one future (Futures.WaitAsync, AsCompleted): a node of the future's
/// wait list, beside its waiting operations, told synchronously, in the order added, when the
/// future is done.
/// </summary>
internal abstract class FutureHook : WaitNode, IFutureWaiter
{
    internal Future? Future;      // set while hooked

    void IFutureWaiter.OnFutureDone()
    {
        var future = Future!;
        Future = null;
        OnDone(future);
    }

    /// <summary>Called on the loop thread by the call that completes the future; must not throw or run user code.</summary>
    internal abstract void OnDone(Future future);
}
