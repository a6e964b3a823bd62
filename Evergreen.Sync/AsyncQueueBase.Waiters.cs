using System.Diagnostics;

namespace Evergreen.Sync;

// A parked put, get or join is a pooled Waiter, a ParkedOperation (docs/design.md, "The park and
// its abort protocol") queued in one of the queue's three WaitLists: the node is the ValueTask the
// caller awaits, so waiting allocates nothing. The item moves at wake time (AsyncQueueBase.cs):
// the queue sets it and completes the node; the waiter reads it after the park ended, in Finish.

public abstract partial class AsyncQueueBase<T>
{
    private enum WaiterKind : byte { Get, Put, Join }

    /// <summary>
    /// A parked getter, putter or joiner and its item (to put, or handed to a getter). A recalled
    /// wait (kill, scope, timeout) leaves its list and moved nothing. Pooled per queue.
    /// </summary>
    private sealed class Waiter(AsyncQueueBase<T> queue) : ParkedOperation<T>
    {
        public readonly AsyncQueueBase<T> Queue = queue;
        public WaiterKind Kind;
        public T? Item;
        public TimeSpan? Timeout;

        public ValueTask<T> Get(string member, TimeSpan? timeout) => ParkAsync(member, timeout);

        public ValueTask PutOrJoin(string member, TimeSpan? timeout) => ParkVoidAsync(member, timeout);

        /// <summary>Ends the wait: the item moved with it. Not a yield point.</summary>
        public void Wake() => Complete();

        protected override T Finish(bool completed)
        {
            if (completed) return Item!;
            throw Kind == WaiterKind.Put ? new QueueFullException(Queue, Timeout) : new QueueEmptyException(Queue, Timeout);
        }

        protected override bool TryRecall()
        {
            Queue.ListOf(Kind).Remove(this);
            return true;
        }

        protected override void OnIdle() => Queue.Return(this);

        public override string ToString() => Kind switch
        {
            WaiterKind.Get => $"{Queue} to get an item",
            WaiterKind.Put => $"{Queue} to have room for an item",
            _ => $"{Queue} until its {Queue._unfinished} unfinished items are marked done",
        };
    }

    private ref WaitList<Waiter> ListOf(WaiterKind kind)
    {
        switch (kind)
        {
            case WaiterKind.Get: return ref _getters;
            case WaiterKind.Put: return ref _putters;
            default: return ref _joiners;
        }
    }

    /// <summary>A pooled node for one wait; the caller parks on it, then <see cref="Enqueue"/>s it.</summary>
    private Waiter Rent(WaiterKind kind, T? item, TimeSpan? timeout)
    {
        var node = _free.TakeFirst() ?? new Waiter(this);
        node.Kind = kind;
        node.Item = item;
        node.Timeout = timeout;
        return node;
    }

    /// <summary>Queues a node that has just parked (its ValueTask is returned next).</summary>
    private void Enqueue(Waiter node) => ListOf(node.Kind).AddLast(node);

    private void Return(Waiter node)
    {
        Debug.Assert(!ListOf(node.Kind).Contains(node), "a waiter leaves its list before its park ends");
        node.Item = default;
        _free.AddLast(node);
    }
}
