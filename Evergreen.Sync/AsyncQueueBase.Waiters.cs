namespace Evergreen.Sync;

public abstract partial class AsyncQueueBase<T>
{
    /// <summary>
    /// A parked getter or putter: its tasklet and its item (the item to put, or the item handed
    /// to a getter). The node owns the park, so an aborted wait unlinks it. Pooled per queue.
    /// </summary>
    private sealed class Waiter(AsyncQueueBase<T> queue) : IParkOwner
    {
        public readonly AsyncQueueBase<T> Queue = queue;
        public Tasklet? Tasklet;
        public T? Item;
        public bool IsPutter;
        public bool IsLinked;
        public Waiter? Prev;
        public Waiter? Next; // also the free list's link

        void IParkOwner.AbortPark(Tasklet tasklet)
        {
            if (IsPutter) Queue._putters.Remove(this); else Queue._getters.Remove(this);
        }

        public override string ToString() => IsPutter ? $"{Queue} to have room for an item" : $"{Queue} to get an item";
    }

    /// <summary>A FIFO of waiter nodes, linked through the nodes (no allocation).</summary>
    private struct WaiterList
    {
        public Waiter? First;
        private Waiter? _last;

        public int Count { readonly get; private set; }

        public void Add(Waiter node)
        {
            node.Prev = _last;
            node.Next = null;
            if (_last is null) First = node; else _last.Next = node;
            _last = node;
            node.IsLinked = true;
            Count++;
        }

        public void Remove(Waiter node)
        {
            if (!node.IsLinked) return;
            if (node.Prev is null) First = node.Next; else node.Prev.Next = node.Next;
            if (node.Next is null) _last = node.Prev; else node.Next.Prev = node.Prev;
            node.Prev = node.Next = null;
            node.IsLinked = false;
            Count--;
        }
    }

    private Waiter Rent(bool putter)
    {
        var node = _free ?? new Waiter(this);
        _free = node.Next;
        node.Next = null;
        node.IsPutter = putter;
        return node;
    }

    private void Return(Waiter node)
    {
        System.Diagnostics.Debug.Assert(!node.IsLinked, "a waiter leaves its list before its park ends");
        node.Tasklet = null;
        node.Item = default;
        node.Next = _free;
        _free = node;
    }
}
