// The wait queue of AsyncLock, AsyncRLock and AsyncSemaphore: FIFO, with handoff and shielded waits.
//
// A waiter is a pooled Node, a ParkedOperation (docs/design.md, "The park and its abort protocol")
// queued in a WaitList. A release with waiters does not unlock: it hands the lock straight to the
// head waiter (Dequeue, then Grant), so nobody can barge in between, and by the core's rule the
// woken tasklet owns it whatever happens before it runs. A waiter whose park is aborted (kill,
// timeout, scope) is recalled: it leaves the queue, so a release never hands the lock to a tasklet
// that gave up. A Node is one wait with two faces: AcquireAsync's ValueTask<bool> (the base's) and
// LockAsync's ValueTask<AsyncReleaser> (its own, forwarding to the base with the same token).
//
// A condition's waiter must get its lock back even when killed (the exception is thrown once the
// lock is held again, as in trio, so a `using` block around the wait releases a lock that is really
// held). It parks shielded (ParkAsync(..., shielded: true)), so expired cancel scopes do not end
// it; a kill still ends a shielded park, once. So a *shielded* node keeps its place when its park
// is recalled: the tasklet records the kill and parks again on the same node. A grant that finds
// it between two parks marks the node Granted; it sees that when it resumes.
//
// Nodes are pooled per queue (a WaitList used as the pool): a park allocates nothing in steady state.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Evergreen.Sync;

/// <summary>A FIFO of tasklets waiting for a lock or permit, each with the recursion count it will hold.</summary>
internal sealed class HandoffQueue
{
    internal sealed class Node : ParkedOperation<bool>, IValueTaskSource<AsyncReleaser>
    {
        internal readonly HandoffQueue Queue;
        internal Tasklet? Tasklet; // kept apart from the base's Waiter: a shielded node outlives its parks
        internal int Count;
        internal bool Shielded, Granted;

        internal Node(HandoffQueue queue) => Queue = queue;

        internal ValueTask<bool> Park(string member, TimeSpan? timeout, bool shielded) => ParkAsync(member, timeout, shielded);

        /// <summary>The same wait as a releaser (LockAsync); call right after <see cref="Park"/>.</summary>
        internal ValueTask<AsyncReleaser> AsReleaser() => new(this, Token);

        /// <summary>Wakes the parked waiter: it holds the lock.</summary>
        internal void Wake() => Complete();

        internal bool IsParked => IsWaiting;

        protected override bool Finish(bool completed) => completed;

        protected override bool TryRecall()
        {
            if (!Shielded) Queue._waiters.Remove(this); // a shielded node keeps its place: see the essay
            return true;
        }

        protected override void OnIdle()
        {
            if (!Shielded) Queue.Free(this); // ParkShieldedAsync frees it when it is granted
        }

        ValueTaskSourceStatus IValueTaskSource<AsyncReleaser>.GetStatus(short token) => ((IValueTaskSource<bool>)this).GetStatus(token);

        void IValueTaskSource<AsyncReleaser>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            ((IValueTaskSource<bool>)this).OnCompleted(continuation, state, token, flags);

        AsyncReleaser IValueTaskSource<AsyncReleaser>.GetResult(short token)
        {
            var target = Queue._owner;
            bool acquired = ((IValueTaskSource<bool>)this).GetResult(token); // throws the kill or the scope's timeout
            Debug.Assert(acquired, "a LockAsync wait has no timeout of its own");
            return new AsyncReleaser(target);
        }

        public override string ToString() => Queue._owner.ToString() ?? "a lock";
    }

    private readonly IReleasable _owner;
    private WaitList<Node> _waiters;
    private WaitList<Node> _free;

    public HandoffQueue(IReleasable owner) => _owner = owner;

    public int Count => _waiters.Count;

    public bool IsEmpty => _waiters.IsEmpty;

    /// <summary>The waiting tasklets, head first (diagnostics; allocates).</summary>
    public IReadOnlyList<Tasklet> Waiters
    {
        get
        {
            var list = new List<Tasklet>(Count);
            foreach (var n in _waiters) list.Add(n.Tasklet!);
            return list;
        }
    }

    /// <summary>
    /// Queues the current tasklet and parks it: the node, whose wait is true once a grant handed it
    /// the lock with <paramref name="count"/>, false on timeout; a kill or scope throws. In every
    /// outcome but a grant it has left the queue. Await its ValueTask at once.
    /// </summary>
    public Node Park(string member, int count, TimeSpan? timeout, out ValueTask<bool> wait)
    {
        var node = Rent(Tasklet.RequireCurrent(member), count, shielded: false);
        try
        {
            wait = node.Park(member, timeout, shielded: false);
        }
        catch
        {
            Free(node);
            throw;
        }
        _waiters.AddLast(node);
        return node;
    }

    /// <summary>As <see cref="Park"/>, for <c>AcquireAsync</c>.</summary>
    public ValueTask<bool> ParkAsync(string member, int count, TimeSpan? timeout)
    {
        Park(member, count, timeout, out var wait);
        return wait;
    }

    /// <summary>As <see cref="Park"/> with no timeout, for <c>LockAsync</c>: the wait as a releaser.</summary>
    public ValueTask<AsyncReleaser> LockAsync(string member, int count) => Park(member, count, null, out _).AsReleaser();

    /// <summary>
    /// Queues the current tasklet and waits until a grant hands it the lock, whatever happens:
    /// a kill meanwhile is returned (the first, or <paramref name="pending"/>).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Exception?> ParkShieldedAsync(string member, int count, Exception? pending)
    {
        var node = Rent(Tasklet.RequireCurrent(member), count, shielded: true);
        _waiters.AddLast(node);
        try
        {
            while (!node.Granted)
            {
                // Shielded: an expired scope does not abort it (it would only spin); a kill
                // does, once, and is recorded while the waiter keeps its place.
                var park = node.Park(member, timeout: null, shielded: true);
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
            _waiters.Remove(node); // still queued only if Park itself refused
            node.Shielded = false;
            Free(node);
        }
        return pending;
    }

    /// <summary>Takes the head waiter out of the queue (it still waits until <see cref="Grant"/>).</summary>
    public Node? Dequeue() => _waiters.TakeFirst();

    /// <summary>Hands the lock to a dequeued waiter: wakes it, or marks a shielded one between parks.</summary>
    public void Grant(Node node)
    {
        if (!node.Shielded)
        {
            node.Wake();
            return;
        }
        node.Granted = true;
        if (node.IsParked) node.Wake();
    }

    private Node Rent(Tasklet tasklet, int count, bool shielded)
    {
        var node = _free.TakeFirst() ?? new Node(this);
        node.Tasklet = tasklet;
        node.Count = count;
        node.Shielded = shielded;
        node.Granted = false;
        return node;
    }

    private void Free(Node node)
    {
        Debug.Assert(!_waiters.Contains(node), "a waiter leaves the queue before it is pooled");
        node.Tasklet = null;
        _free.AddLast(node);
    }
}
