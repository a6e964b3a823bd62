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
    internal int HookCount
    {
        get
        {
            int n = 0;
            for (var h = _hooks; h is not null; h = h.Next) n++;
            return n;
        }
    }

    internal TimeoutException TimeoutError(TimeSpan? timeout) =>
        new($"{this} was not done within {Describe(timeout)}");

    internal void AddHook(FutureHook hook)
    {
        Debug.Assert(_state < State.Succeeded && hook.Future is null);
        hook.Future = this;
        hook.Prev = null;
        hook.Next = _hooks;
        if (_hooks is not null) _hooks.Prev = hook;
        _hooks = hook;
    }

    internal void RemoveHook(FutureHook hook)
    {
        if (!ReferenceEquals(hook.Future, this)) return;
        if (hook.Prev is null) _hooks = hook.Next; else hook.Prev.Next = hook.Next;
        if (hook.Next is not null) hook.Next.Prev = hook.Prev;
        hook.Future = null;
        hook.Prev = hook.Next = null;
    }
}

/// <summary>
/// An internal listener on one future (Futures.WaitAsync, AsCompleted): a node of the future's
/// intrusive hook list, told synchronously when the future is done. O(1) to add and remove.
/// </summary>
internal abstract class FutureHook
{
    internal Future? Future;      // set while hooked
    internal FutureHook? Prev, Next;

    /// <summary>Called on the loop thread by the call that completes the future; must not throw or run user code.</summary>
    internal abstract void OnDone(Future future);
}
