using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace Evergreen.Sync;

// The waiter node is also the ValueTask that PutAsync, GetAsync and JoinAsync return when they
// must wait. It forwards the caller's continuation straight to the tasklet's park, which runs it
// from the loop's ready queue, and does the work that follows the wake (hand back the item, throw
// on timeout, return the node to the pool) in GetResult. An async method would do the same with
// a pooled box, but completing a box posts its continuation to the tasklet's captured
// SynchronizationContext, which allocates on every wake; this does not.

public abstract partial class AsyncQueueBase<T>
{
    private enum WaiterKind : byte { Get, Put, Join }

    /// <summary>
    /// A parked getter, putter or joiner: its tasklet, its item (to put, or handed to a getter) and
    /// its park. It owns the park, so an aborted wait unlinks it. Pooled per queue.
    /// </summary>
    private sealed class Waiter : IParkOwner, IValueTaskSource, IValueTaskSource<T>
    {
        public readonly AsyncQueueBase<T> Queue;
        public WaiterKind Kind;
        public Tasklet? Tasklet;
        public T? Item;
        public bool Handed; // the queue woke it: the item moved (or the join ended)
        public bool IsLinked;
        public Waiter? Prev;
        public Waiter? Next; // also the free list's link
        public TimeSpan? Timeout;
        public short Version;
        private ValueTask<bool> _park;
        private Action<object?>? _continuation;
        private object? _state;
        private readonly Action _invoke;

        public Waiter(AsyncQueueBase<T> queue)
        {
            Queue = queue;
            _invoke = Invoke;
        }

        public void Begin(ValueTask<bool> park, Tasklet tasklet, TimeSpan? timeout)
        {
            _park = park;
            Tasklet = tasklet;
            Timeout = timeout;
        }

        /// <summary>Ends the wait: the item moves with it. Not a yield point.</summary>
        public void Wake()
        {
            Handed = true;
            Tasklet!.Unpark();
        }

        void IParkOwner.AbortPark(Tasklet tasklet) => Queue.ListOf(Kind).Remove(this);

        private void Invoke()
        {
            var continuation = _continuation!;
            var state = _state;
            _continuation = null;
            _state = null;
            continuation(state);
        }

        public ValueTaskSourceStatus GetStatus(short token)
        {
            CheckToken(token);
            if (!_park.IsCompleted) return ValueTaskSourceStatus.Pending;
            return Handed ? ValueTaskSourceStatus.Succeeded : ValueTaskSourceStatus.Faulted;
        }

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        {
            CheckToken(token);
            _continuation = continuation;
            _state = state;
            _park.GetAwaiter().UnsafeOnCompleted(_invoke); // the park registers here, or is aborted at once
        }

        T IValueTaskSource<T>.GetResult(short token)
        {
            CheckToken(token);
            try
            {
                EndPark();
                return Item!;
            }
            finally
            {
                Queue.Return(this);
            }
        }

        void IValueTaskSource.GetResult(short token)
        {
            CheckToken(token);
            try
            {
                EndPark();
            }
            finally
            {
                Queue.Return(this);
            }
        }

        /// <summary>Reads the park's outcome: throws its abort, or the queue's timeout error.</summary>
        private void EndPark()
        {
            bool woken = _park.GetAwaiter().GetResult();
            if (Handed) return;
            if (IsLinked)
            {
                // Someone called Tasklet.Unpark on a tasklet parked in the queue.
                Queue.ListOf(Kind).Remove(this);
                throw new InvalidOperationException(
                    $"{Tasklet!.Describe()} was woken from {this} by something other than the queue (Tasklet.Unpark?): " +
                    "only the queue may wake its waiters; the wait was abandoned and moved no item.");
            }
            Debug.Assert(!woken, "a park woken by the queue is Handed");
            throw Kind == WaiterKind.Put ? new QueueFullException(Queue, Timeout) : new QueueEmptyException(Queue, Timeout);
        }

        private void CheckToken(short token)
        {
            if (token != Version)
            {
                throw new InvalidOperationException($"a ValueTask from {Queue} was awaited twice, or after it completed (await it exactly once).");
            }
        }

        public override string ToString() => Kind switch
        {
            WaiterKind.Get => $"{Queue} to get an item",
            WaiterKind.Put => $"{Queue} to have room for an item",
            _ => $"{Queue} until its {Queue._unfinished} unfinished items are marked done",
        };
    }

    /// <summary>A FIFO of waiter nodes, linked through the nodes (no allocation). A class, so AbortPark can reach it.</summary>
    private sealed class WaiterList
    {
        public Waiter? First;
        private Waiter? _last;

        public int Count { get; private set; }

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

        /// <summary>Unlinks the first waiter (the caller wakes it); null when none waits.</summary>
        public Waiter? TakeFirst()
        {
            var node = First;
            if (node is not null) Remove(node);
            return node;
        }
    }

    private WaiterList ListOf(WaiterKind kind) => kind switch
    {
        WaiterKind.Get => _getters,
        WaiterKind.Put => _putters,
        _ => _joiners,
    };

    /// <summary>
    /// Parks the current tasklet on a pooled node at the tail of its list; the caller returns the
    /// node as a ValueTask (token: its version), whose await registers the park.
    /// </summary>
    private Waiter Park(WaiterKind kind, T? item, TimeSpan? timeout)
    {
        var node = _free ?? new Waiter(this);
        var park = Tasklet.ParkAsync(node, timeout); // throws outside a tasklet: the node stays free
        _free = node.Next;
        node.Next = null;
        node.Kind = kind;
        node.Item = item;
        node.Handed = false;
        node.Begin(park, Tasklet.Current!, timeout);
        ListOf(kind).Add(node);
        return node;
    }

    private void Return(Waiter node)
    {
        Debug.Assert(!node.IsLinked, "a waiter leaves its list before its park ends");
        node.Version++;
        node.Begin(default, null!, null);
        node.Tasklet = null;
        node.Item = default;
        node.Next = _free;
        _free = node;
    }
}
