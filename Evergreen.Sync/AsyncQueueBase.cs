// The queues' waiting logic: direct handoff between puts and gets.
//
// A queue keeps its items in storage (a FIFO, a stack or a heap: the derived class) and three
// FIFO lists of parked tasklets: getters waiting for an item, putters waiting for room, joiners
// waiting for TaskDone. Each waiter is a pooled node holding its tasklet and its item; the node
// is a ParkedOperation, so a kill, a scope deadline or the park's own timeout recalls it from its
// list (TryRecall) and leaves the queue as if the wait had never been made. The node is also the
// ValueTask the caller awaits (AsyncQueueBase.Waiters.cs), so waiting allocates nothing.
//
// Nobody ever wakes a waiter to "go and look": the item moves at wake time.
//   - A put that finds a parked getter puts the item in the getter's node, unlinks it and wakes
//     it. The queue was empty, and stays empty.
//   - A get that frees a slot while putters are parked moves the first putter's item into
//     storage, unlinks it and wakes it. The queue was full, and stays full.
// The core fixes a woken park's outcome (trio's rule), so the handoff can never be lost: a getter
// killed after it was handed an item still returns that item from GetAsync, and the kill lands at
// its next park; a putter killed after its item was moved in still returns normally (the item is
// in the queue). So invariants hold at every step: parked getters only while storage is empty,
// parked putters only while it is full, waiters served strictly FIFO, no item lost or duplicated,
// Count never above MaxSize, and a queue with waiters never lets a newcomer overtake them.
//
// Must never: wake a node that is not linked, leave a node linked after its park ended, or call
// user code (the comparer excepted) while the lists are half updated. Loop thread only.

using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Evergreen.Sync;

/// <summary>
/// The waiting logic shared by <see cref="AsyncQueue{T}"/>, <see cref="AsyncLifoQueue{T}"/> and
/// <see cref="AsyncPriorityQueue{T}"/> (Evergreen's <c>queue</c> module): puts park while the queue
/// is full, gets park while it is empty, both served FIFO and handed their item directly, and
/// <see cref="TaskDone"/>/<see cref="JoinAsync()"/> count the work done on the items. A derived
/// class supplies only the storage (Python's <c>_put</c>, <c>_get</c>, <c>_qsize</c>).
/// Loop thread only: the first loop that uses a queue owns it.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
[DebuggerDisplay("{ToString(),nq}: {WaitingGetters} getters, {WaitingPutters} putters, {_unfinished} unfinished")]
public abstract partial class AsyncQueueBase<T>
{
    private LoopAffinity _affinity;
    private readonly int _maxSize;
    private readonly int _id = QueueIds.Next();
    private WaitList<Waiter> _getters;
    private WaitList<Waiter> _putters;
    private WaitList<Waiter> _joiners;
    private WaitList<Waiter> _free;
    private int _unfinished;

    /// <summary>Creates an empty queue holding at most <paramref name="maxSize"/> items; zero or less is unbounded (Python's <c>maxsize</c>).</summary>
    protected AsyncQueueBase(int maxSize) => _maxSize = Math.Max(0, maxSize);

    /// <summary>How many items the storage holds (Python's <c>_qsize</c>).</summary>
    protected abstract int StorageCount { get; }

    /// <summary>Adds an item to the storage (Python's <c>_put</c>). Called only when there is room.</summary>
    protected abstract void StorageAdd(T item);

    /// <summary>Removes the next item from the storage (Python's <c>_get</c>). Called only when it is not empty.</summary>
    protected abstract T StorageTake();

    /// <summary>How many items are in the queue (Python's <c>qsize()</c>); never more than <see cref="MaxSize"/> when bounded. Not a yield point.</summary>
    public int Count
    {
        get
        {
            Check("Count");
            return StorageCount;
        }
    }

    /// <summary>True when the queue holds no item (Python's <c>empty()</c>). Not a yield point.</summary>
    public bool IsEmpty
    {
        get
        {
            Check("IsEmpty");
            return StorageCount == 0;
        }
    }

    /// <summary>True when the queue is bounded and holds <see cref="MaxSize"/> items (Python's <c>full()</c>). Not a yield point.</summary>
    public bool IsFull
    {
        get
        {
            Check("IsFull");
            return _maxSize > 0 && StorageCount >= _maxSize;
        }
    }

    /// <summary>The most items the queue holds; 0 means unbounded (Python's <c>maxsize</c>; a negative size given is 0).</summary>
    public int MaxSize
    {
        get
        {
            Check("MaxSize");
            return _maxSize;
        }
    }

    /// <summary>
    /// Items put and not yet marked done with <see cref="TaskDone"/> (Python's
    /// <c>unfinished_tasks</c>). Every successful put adds one. Not a yield point.
    /// </summary>
    public int UnfinishedTasks
    {
        get
        {
            Check("UnfinishedTasks");
            return _unfinished;
        }
    }

    /// <summary>Tasklets parked in <see cref="GetAsync"/> (for tests and diagnostics).</summary>
    internal int WaitingGetters => _getters.Count;

    /// <summary>Tasklets parked in <see cref="PutAsync"/> (for tests and diagnostics).</summary>
    internal int WaitingPutters => _putters.Count;

    /// <summary>
    /// Puts <paramref name="item"/> in the queue, parking while it is full (Python's <c>put</c>).
    /// A yield point only when the queue is full; otherwise it completes at once. When it parks,
    /// await the result at once and exactly once (as every park). If a getter is parked, the item
    /// goes straight to the first one. A parked put is moved into the queue by the
    /// get that frees its slot, in FIFO order; once moved, it returns normally even if the tasklet
    /// was killed meanwhile (the kill lands at its next park).
    /// A cancelled put (kill, <see cref="CancelScope"/>, timeout) puts nothing.
    /// </summary>
    /// <param name="item">The item.</param>
    /// <param name="timeout">How long to wait for room; null waits forever. When it passes: <see cref="QueueFullException"/> (a <see cref="TimeoutException"/>), and nothing was put.</param>
    /// <exception cref="QueueFullException">The queue stayed full for <paramref name="timeout"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    /// <exception cref="InvalidOperationException">It must wait and was called outside a tasklet, or from another loop's thread.</exception>
    public ValueTask PutAsync(T item, TimeSpan? timeout = null)
    {
        Check("PutAsync");
        Timeouts.Check(timeout);
        return TryPutCore(item) ? default : PutSlowAsync(item, timeout);
    }

    /// <summary>
    /// Puts <paramref name="item"/> if the queue has room (Python's <c>put_nowait</c>). Never a yield point.
    /// </summary>
    /// <returns>False, putting nothing, when the queue is full.</returns>
    /// <exception cref="InvalidOperationException">Called from another loop's thread.</exception>
    public bool TryPut(T item)
    {
        Check("TryPut");
        return TryPutCore(item);
    }

    /// <summary>
    /// Takes the next item, parking while the queue is empty (Python's <c>get</c>). A yield point
    /// only when the queue is empty; otherwise it completes at once. When it parks, await the
    /// result at once and exactly once (as every park). Parked getters are served in FIFO order,
    /// each handed its item by the put that brings it: a getter handed an item owns it,
    /// so if it is killed after the handoff, GetAsync still returns the item and the kill lands at
    /// its next park. A cancelled get (kill, <see cref="CancelScope"/>, timeout) takes no item.
    /// </summary>
    /// <param name="timeout">How long to wait for an item; null waits forever. When it passes: <see cref="QueueEmptyException"/> (a <see cref="TimeoutException"/>), and no item was taken.</param>
    /// <exception cref="QueueEmptyException">The queue stayed empty for <paramref name="timeout"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    /// <exception cref="InvalidOperationException">It must wait and was called outside a tasklet, or from another loop's thread.</exception>
    public ValueTask<T> GetAsync(TimeSpan? timeout = null)
    {
        Check("GetAsync");
        Timeouts.Check(timeout);
        return TryGetCore(out var item) ? new ValueTask<T>(item) : GetSlowAsync(timeout);
    }

    /// <summary>Takes the next item if there is one (Python's <c>get_nowait</c>). Never a yield point.</summary>
    /// <returns>False, with <paramref name="item"/> default, when the queue is empty.</returns>
    /// <exception cref="InvalidOperationException">Called from another loop's thread.</exception>
    public bool TryGet([MaybeNullWhen(false)] out T item)
    {
        Check("TryGet");
        return TryGetCore(out item);
    }

    /// <summary>
    /// Marks one item as processed (Python's <c>task_done</c>): when every item put has been marked,
    /// <see cref="JoinAsync()"/> returns. Never a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called more times than items were put (Python's ValueError), or from another loop's thread.</exception>
    public void TaskDone()
    {
        Check("TaskDone");
        if (_unfinished <= 0)
        {
            throw new InvalidOperationException(
                $"TaskDone was called more times than items were put in {this}: each item got is marked done once.");
        }
        if (--_unfinished == 0)
        {
            while (_joiners.TakeFirst() is { } joiner) joiner.Wake();
        }
    }

    /// <summary>
    /// Waits until every item put has been marked with <see cref="TaskDone"/> (Python's <c>join</c>).
    /// Returns at once, and is then not a yield point, when nothing is unfinished; otherwise it
    /// parks (a yield point) until the count reaches zero (joiners woken then return even if more
    /// items are put before they run, as in Python); a kill or an expired
    /// <see cref="CancelScope"/> ends the wait (use <see cref="CancelScope.MoveOnAfterAsync(TimeSpan, Func{Task})"/> for a timeout).
    /// </summary>
    /// <exception cref="InvalidOperationException">It must wait and was called outside a tasklet, or from another loop's thread.</exception>
    public ValueTask JoinAsync()
    {
        Check("JoinAsync");
        return _unfinished == 0 ? default : JoinSlowAsync();
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        int count = StorageCount;
        return _maxSize > 0 ? $"{TypeName} #{_id} ({count} of {_maxSize} items)" : $"{TypeName} #{_id} ({count} items)";
    }

    private string TypeName
    {
        get
        {
            var name = GetType().Name;
            int tick = name.IndexOf('`');
            return $"{(tick < 0 ? name : name[..tick])}<{typeof(T).Name}>";
        }
    }

    private bool TryPutCore(T item)
    {
        AssertInvariants();
        if (_getters.TakeFirst() is { } getter)
        {
            getter.Item = item;
            _unfinished++;
            getter.Wake();
            return true;
        }
        if (_maxSize > 0 && StorageCount >= _maxSize) return false;
        StorageAdd(item);
        _unfinished++;
        return true;
    }

    private bool TryGetCore([MaybeNullWhen(false)] out T item)
    {
        AssertInvariants();
        if (StorageCount == 0)
        {
            item = default;
            return false;
        }
        item = StorageTake();
        if (_putters.TakeFirst() is { } putter)
        {
            StorageAdd(putter.Item!);
            _unfinished++;
            putter.Wake();
        }
        return true;
    }

    private ValueTask PutSlowAsync(T item, TimeSpan? timeout) => ParkPutOrJoin(WaiterKind.Put, item, timeout, "AsyncQueueBase.PutAsync");

    private ValueTask<T> GetSlowAsync(TimeSpan? timeout)
    {
        var node = Rent(WaiterKind.Get, default, timeout);
        ValueTask<T> wait;
        try
        {
            wait = node.Get("AsyncQueueBase.GetAsync", timeout);
        }
        catch
        {
            Return(node);
            throw;
        }
        Enqueue(node);
        return wait;
    }

    private ValueTask JoinSlowAsync() => ParkPutOrJoin(WaiterKind.Join, default, null, "AsyncQueueBase.JoinAsync");

    private ValueTask ParkPutOrJoin(WaiterKind kind, T? item, TimeSpan? timeout, string member)
    {
        var node = Rent(kind, item, timeout);
        ValueTask wait;
        try
        {
            wait = node.PutOrJoin(member, timeout);
        }
        catch
        {
            Return(node);
            throw;
        }
        Enqueue(node);
        return wait;
    }

    private void Check(string member)
    {
        if (_affinity.Loop is { } loop && loop.CheckAccess()) return;
        _affinity.Check($"{TypeName}.{member}");
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        int count = StorageCount;
        Debug.Assert(_maxSize == 0 || count <= _maxSize, "a queue never holds more than MaxSize items");
        Debug.Assert(_getters.Count == 0 || count == 0, "getters wait only while the queue is empty");
        Debug.Assert(_putters.Count == 0 || count == _maxSize, "putters wait only while the queue is full");
        Debug.Assert(_unfinished >= count, "every queued item is unfinished");
    }
}

/// <summary>Ids for queues, shared by every item type (a generic class's statics are per type).</summary>
internal static class QueueIds
{
    private static int s_last;

    public static int Next() => Interlocked.Increment(ref s_last);
}
