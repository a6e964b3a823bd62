using System.Diagnostics;

namespace Evergreen.Sync;

/// <summary>
/// A first-in, first-out queue between tasklets (Evergreen's <c>Queue</c>, Python's
/// <c>queue.Queue</c>): <see cref="AsyncQueueBase{T}.PutAsync"/> parks while it is full,
/// <see cref="AsyncQueueBase{T}.GetAsync"/> parks while it is empty, items come out in the order
/// they were put, and waiters are served FIFO. Loop thread only.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
[DebuggerDisplay("{ToString(),nq}: {WaitingGetters} getters, {WaitingPutters} putters, {UnfinishedTasks} unfinished")]
public sealed class AsyncQueue<T> : AsyncQueueBase<T>
{
    private readonly Queue<T> _items = new();

    /// <summary>Creates an empty queue holding at most <paramref name="maxSize"/> items; zero or less (the default) is unbounded.</summary>
    public AsyncQueue(int maxSize = 0) : base(maxSize) { }

    /// <inheritdoc/>
    protected override int StorageCount => _items.Count;

    /// <inheritdoc/>
    protected override void StorageAdd(T item) => _items.Enqueue(item);

    /// <inheritdoc/>
    protected override T StorageTake() => _items.Dequeue();
}
