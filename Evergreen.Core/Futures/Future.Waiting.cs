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
    internal int WaiterCount => _waiters.Count;

    /// <summary>How many internal hooks are attached (tests: a wait leaves none behind).</summary>
    internal int HookCount => _hooks.Count;

    internal TimeoutException TimeoutError(TimeSpan? timeout) =>
        new($"{this} was not done within {Describe(timeout)}");

    internal void AddHook(FutureHook hook)
    {
        Debug.Assert(_state < State.Succeeded && hook.Future is null);
        hook.Future = this;
        _hooks.AddLast(hook);
    }

    internal void RemoveHook(FutureHook hook)
    {
        if (!ReferenceEquals(hook.Future, this)) return;
        _hooks.Remove(hook);
        hook.Future = null;
    }
}

/// <summary>
/// An internal listener on one future (Futures.WaitAsync, AsCompleted): a node of the future's
/// hook list (the one WaitList), told synchronously, in the order hooked, when the future is done.
/// </summary>
internal abstract class FutureHook : WaitNode
{
    internal Future? Future;      // set while hooked

    /// <summary>Called on the loop thread by the call that completes the future; must not throw or run user code.</summary>
    internal abstract void OnDone(Future future);
}
