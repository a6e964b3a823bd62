using System.Diagnostics;

namespace Evergreen.Sync;

/// <summary>
/// A priority queue between tasklets (Evergreen's <c>PriorityQueue</c>, Python's
/// <c>queue.PriorityQueue</c>): the smallest item comes out first, by the comparer given or
/// <see cref="Comparer{T}.Default"/>, and equal items come out in the order they were put. Puts
/// park while it is full, gets park while it is empty, and waiters are served FIFO. Loop thread only.
/// </summary>
/// <typeparam name="T">The item type; it orders itself (IComparable) unless a comparer is given.</typeparam>
[DebuggerDisplay("{ToString(),nq}: {WaitingGetters} getters, {WaitingPutters} putters, {UnfinishedTasks} unfinished")]
public sealed class AsyncPriorityQueue<T> : AsyncQueueBase<T>
{
    // A binary min-heap of (item, sequence number): the number breaks ties in put order, which a
    // heap alone does not keep. A long never wraps in practice.
    private (T Item, long Seq)[] _heap = [];
    private int _count;
    private long _nextSeq;
    private readonly IComparer<T> _comparer;

    /// <summary>
    /// Creates an empty queue holding at most <paramref name="maxSize"/> items (zero or less, the
    /// default, is unbounded), ordered by <paramref name="comparer"/> or, when null, by
    /// <see cref="Comparer{T}.Default"/>. The comparer must not throw and must not touch the queue.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="comparer"/> is null and <typeparamref name="T"/> cannot be compared.</exception>
    public AsyncPriorityQueue(int maxSize = 0, IComparer<T>? comparer = null) : base(maxSize)
    {
        if (comparer is null && !IsComparable(typeof(T)))
        {
            throw new ArgumentException(
                $"an AsyncPriorityQueue of {typeof(T).Name} needs a comparer: {typeof(T).Name} implements neither IComparable<T> nor IComparable",
                nameof(comparer));
        }
        _comparer = comparer ?? Comparer<T>.Default;
    }

    /// <inheritdoc/>
    protected override int StorageCount => _count;

    /// <inheritdoc/>
    protected override void StorageAdd(T item)
    {
        if (_count == _heap.Length) Array.Resize(ref _heap, Math.Max(4, _heap.Length * 2));
        var entry = (item, _nextSeq++);
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Less(entry, _heap[parent])) break;
            _heap[i] = _heap[parent];
            i = parent;
        }
        _heap[i] = entry;
    }

    /// <inheritdoc/>
    protected override T StorageTake()
    {
        var top = _heap[0].Item;
        var last = _heap[--_count];
        _heap[_count] = default;
        if (_count > 0)
        {
            int i = 0;
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= _count) break;
                if (child + 1 < _count && Less(_heap[child + 1], _heap[child])) child++;
                if (!Less(_heap[child], last)) break;
                _heap[i] = _heap[child];
                i = child;
            }
            _heap[i] = last;
        }
        return top;
    }

    private bool Less((T Item, long Seq) a, (T Item, long Seq) b)
    {
        int c = _comparer.Compare(a.Item, b.Item);
        return c < 0 || (c == 0 && a.Seq < b.Seq);
    }

    private static bool IsComparable(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return typeof(IComparable).IsAssignableFrom(type)
            || typeof(IComparable<>).MakeGenericType(type).IsAssignableFrom(type);
    }
}
