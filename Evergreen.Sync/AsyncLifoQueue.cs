using System.Diagnostics;

namespace Evergreen.Sync;

/// <summary>
/// A last-in, first-out queue (a stack) between tasklets (Evergreen's <c>LifoQueue</c>, Python's
/// <c>queue.LifoQueue</c>): the most recently put item comes out first. Puts park while it is
/// full, gets park while it is empty, and waiters are still served FIFO. Loop thread only.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
[DebuggerDisplay("{ToString(),nq}: {WaitingGetters} getters, {WaitingPutters} putters, {UnfinishedTasks} unfinished")]
public sealed class AsyncLifoQueue<T> : AsyncQueueBase<T>
{
    private readonly Stack<T> _items = new();

    /// <summary>Creates an empty queue holding at most <paramref name="maxSize"/> items; zero or less (the default) is unbounded.</summary>
    public AsyncLifoQueue(int maxSize = 0) : base(maxSize) { }

    /// <inheritdoc/>
    protected override int StorageCount => _items.Count;

    /// <inheritdoc/>
    protected override void StorageAdd(T item) => _items.Push(item);

    /// <inheritdoc/>
    protected override T StorageTake() => _items.Pop();
}
