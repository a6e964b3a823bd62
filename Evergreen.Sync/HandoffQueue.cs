// The wait queue of AsyncLock and AsyncRLock: FIFO, with handoff and shielded waits.
//
// A release with waiters does not unlock: it hands the lock straight to the head waiter (Dequeue,
// then Grant), so nobody can barge in between, and by the core's rule the woken tasklet owns it
// whatever happens before it runs. A waiter whose park is aborted (kill, timeout, scope) leaves the
// queue in AbortPark, so a release never hands the lock to a tasklet that gave up.
//
// A condition's waiter must get its lock back even when killed or timed out (the exception is
// thrown once the lock is held again, as in trio, so a `using` block around the wait releases a
// lock that is really held). The core has no shielded park, so a *shielded* node stays queued when
// its park is aborted: the tasklet records the exception and parks again on the same node, keeping
// its place. A grant that finds it between two parks marks the node Granted; it sees that when it
// resumes. Inside an expired cancel scope every park is aborted at once, so such a waiter re-parks
// through the ready queue until its turn comes (it yields each time; other tasklets run).
//
// Nodes are pooled per queue: a park allocates nothing in steady state.

using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Evergreen.Sync;

/// <summary>A FIFO of tasklets waiting for a lock, each with the recursion count it will hold.</summary>
internal sealed class HandoffQueue
{
    internal sealed class Node : IParkOwner
    {
        internal readonly HandoffQueue Queue;
        internal Tasklet? Tasklet;
        internal Node? Prev, Next;
        internal int Count;
        internal bool Shielded, Granted, Queued;

        internal Node(HandoffQueue queue) => Queue = queue;

        void IParkOwner.AbortPark(Tasklet tasklet)
        {
            if (Shielded) return; // it parks again on this node: see the essay
            Queue.Remove(this);
            Queue.Free(this);
        }

        public override string ToString() => Queue._owner.ToString() ?? "a lock";
    }

    private readonly object _owner;
    private Node? _head, _tail, _free;

    public HandoffQueue(object owner) => _owner = owner;

    public int Count { get; private set; }

    public bool IsEmpty => Count == 0;

    /// <summary>The waiting tasklets, head first (diagnostics; allocates).</summary>
    public IReadOnlyList<Tasklet> Waiters
    {
        get
        {
            var list = new List<Tasklet>(Count);
            for (var n = _head; n is not null; n = n.Next) list.Add(n.Tasklet!);
            return list;
        }
    }

    /// <summary>Throws for a negative timeout (other than infinite), before anything is queued.</summary>
    public static void CheckTimeout(TimeSpan? timeout)
    {
        if (timeout is { } span && span < TimeSpan.Zero && span != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), span, "a timeout cannot be negative (use null or Timeout.InfiniteTimeSpan for none)");
        }
    }

    /// <summary>The current tasklet, which is about to wait; a clear error outside tasklets.</summary>
    public static Tasklet CurrentWaiter(string member) => Tasklet.Current ?? throw new InvalidOperationException(
        $"{member} must wait, and only a tasklet can wait: call it from a tasklet (Tasklet.Spawn), or use TryAcquire.");

    /// <summary>
    /// Queues <paramref name="tasklet"/> (the current one) and parks it: true once a grant handed it
    /// the lock with <paramref name="count"/>, false on timeout; a kill or scope throws. In every
    /// outcome but a grant it has left the queue.
    /// </summary>
    public ValueTask<bool> ParkAsync(Tasklet tasklet, int count, TimeSpan? timeout)
    {
        var node = Rent(tasklet, count, shielded: false);
        Append(node);
        try
        {
            return Tasklet.ParkAsync(node, timeout);
        }
        catch
        {
            Remove(node);
            Free(node);
            throw;
        }
    }

    /// <summary>
    /// Queues the current tasklet and waits until a grant hands it the lock, whatever happens:
    /// a kill or an expired scope meanwhile is returned (the first, or <paramref name="pending"/>).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Exception?> ParkShieldedAsync(Tasklet tasklet, int count, Exception? pending)
    {
        var node = Rent(tasklet, count, shielded: true);
        Append(node);
        try
        {
            while (!node.Granted)
            {
                // Shielded: an expired scope does not abort it (it would only spin); a kill
                // does, once, and is recorded while the waiter keeps its place.
                var park = Tasklet.ParkAsync(node, shielded: true);
                try
                {
                    await park;
                }
                catch (Exception e)
                {
                    pending ??= e;
                }
            }
        }
        finally
        {
            if (node.Queued) Remove(node); // only if ParkAsync itself refused
            Free(node);
        }
        return pending;
    }

    /// <summary>Takes the head waiter out of the queue (it still waits until <see cref="Grant"/>).</summary>
    public Node? Dequeue()
    {
        var node = _head;
        if (node is not null) Remove(node);
        return node;
    }

    /// <summary>Hands the lock to a dequeued waiter: wakes it, or marks a shielded one between parks.</summary>
    public void Grant(Node node)
    {
        var t = node.Tasklet!;
        if (!node.Shielded)
        {
            Free(node);
            t.Unpark();
            return;
        }
        node.Granted = true;
        if (t.IsParked && ReferenceEquals(t.ParkOwner, node)) t.Unpark();
    }

    private Node Rent(Tasklet tasklet, int count, bool shielded)
    {
        var node = _free;
        if (node is null) node = new Node(this);
        else _free = node.Next;
        node.Next = null;
        node.Tasklet = tasklet;
        node.Count = count;
        node.Shielded = shielded;
        node.Granted = false;
        return node;
    }

    private void Free(Node node)
    {
        Debug.Assert(!node.Queued);
        node.Tasklet = null;
        node.Prev = null;
        node.Next = _free;
        _free = node;
    }

    private void Append(Node node)
    {
        node.Prev = _tail;
        node.Next = null;
        if (_tail is null) _head = node; else _tail.Next = node;
        _tail = node;
        node.Queued = true;
        Count++;
    }

    private void Remove(Node node)
    {
        if (!node.Queued) return;
        if (node.Prev is null) _head = node.Next; else node.Prev.Next = node.Next;
        if (node.Next is null) _tail = node.Prev; else node.Next.Prev = node.Prev;
        node.Prev = node.Next = null;
        node.Queued = false;
        Count--;
        Debug.Assert(Count >= 0 && (Count == 0) == (_head is null));
    }
}
