using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Evergreen.Sync;

public sealed partial class AsyncChannel<T>
{
    private const int MaxPooledWaiters = 16;
    private Waiter? _free;
    private int _freeCount;

    /// <summary>
    /// One parked send or receive: the owner of its tasklet's park (a kill or timeout takes it out
    /// of its queue), and for a receive the source of the ValueTask the caller awaits. Pooled by
    /// the channel. A waiter registered by an <see cref="AsyncSelect"/> has <see cref="Select"/> set
    /// and is woken through the select instead.
    /// </summary>
    internal sealed class Waiter(AsyncChannel<T> channel) : IParkOwner, IValueTaskSource<T>
    {
        internal readonly AsyncChannel<T> Channel = channel;
        internal Waiter? Prev, Next;  // links in a WaiterList, or Next in the free list
        internal bool Queued;
        internal bool IsSender;
        internal Tasklet? Tasklet;
        internal short ParkToken;     // the tasklet's park a receive forwards to
        internal short Version;       // this node's ValueTask token; bumped on every rent and recycle
        internal T Value = default!;
        internal Exception? Error;
        internal AsyncSelect? Select;
        internal int Branch;

        void IParkOwner.AbortPark(Tasklet tasklet)
        {
            // A kill, a scope or (for a select) a timeout ended the park before anything was handed over.
            ref var list = ref (IsSender ? ref Channel._senders : ref Channel._receivers);
            list.Remove(this);
            if (IsSender) Channel.Recycle(this); // a receive recycles in GetResult, which still needs the node
        }

        ValueTaskSourceStatus IValueTaskSource<T>.GetStatus(short token)
        {
            CheckVersion(token);
            return ((IValueTaskSource<bool>)Tasklet!).GetStatus(ParkToken);
        }

        void IValueTaskSource<T>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        {
            CheckVersion(token);
            ((IValueTaskSource<bool>)Tasklet!).OnCompleted(continuation, state, ParkToken, flags);
        }

        T IValueTaskSource<T>.GetResult(short token)
        {
            CheckVersion(token);
            try
            {
                ((IValueTaskSource<bool>)Tasklet!).GetResult(ParkToken); // throws for a kill or a scope
            }
            catch
            {
                Channel.Recycle(this);
                throw;
            }
            var value = Value;
            var error = Error;
            Channel.Recycle(this);
            if (error is not null) ExceptionDispatchInfo.Throw(error);
            return value;
        }

        private void CheckVersion(short token)
        {
            if (token != Version || Tasklet is null)
            {
                throw new InvalidOperationException("an AsyncChannel.ReceiveAsync result was awaited twice, or after it completed (await it exactly once)");
            }
        }

        /// <inheritdoc/>
        public override string ToString() => IsSender ? $"sending on {Channel}" : $"receiving from {Channel}";
    }

    /// <summary>An intrusive FIFO of waiters.</summary>
    internal struct WaiterList
    {
        public Waiter? Head;
        private Waiter? _tail;
        public int Count;

        public void Append(Waiter w)
        {
            Debug.Assert(!w.Queued);
            w.Prev = _tail;
            w.Next = null;
            if (_tail is null) Head = w; else _tail.Next = w;
            _tail = w;
            w.Queued = true;
            Count++;
        }

        public void Remove(Waiter w)
        {
            if (!w.Queued) return;
            if (w.Prev is null) Head = w.Next; else w.Prev.Next = w.Next;
            if (w.Next is null) _tail = w.Prev; else w.Next.Prev = w.Prev;
            w.Prev = w.Next = null;
            w.Queued = false;
            Count--;
        }
    }

    internal Waiter Rent(bool sender)
    {
        var w = _free;
        if (w is null)
        {
            w = new Waiter(this);
        }
        else
        {
            _free = w.Next;
            w.Next = null;
            _freeCount--;
        }
        w.IsSender = sender;
        w.Version++;
        return w;
    }

    internal void Recycle(Waiter w)
    {
        Debug.Assert(!w.Queued);
        w.Version++;
        w.Tasklet = null;
        w.Value = default!;
        w.Error = null;
        w.Select = null;
        if (_freeCount < MaxPooledWaiters)
        {
            w.Next = _free;
            _free = w;
            _freeCount++;
        }
    }

    /// <summary>Parks a select's waiter in the right queue (the select parks its tasklet itself).</summary>
    internal Waiter Register(AsyncSelect select, int branch, bool sender, T value)
    {
        var w = Rent(sender);
        w.Select = select;
        w.Branch = branch;
        w.Value = value;
        if (sender)
        {
            _senders.Append(w);
            NotifyReadable();
        }
        else
        {
            _receivers.Append(w);
            NotifyWritable();
        }
        return w;
    }

    /// <summary>Takes a select's waiter back (its select fired elsewhere, or was cancelled) and pools it.</summary>
    internal void Unregister(Waiter w)
    {
        if (w.IsSender) _senders.Remove(w); else _receivers.Remove(w);
        Recycle(w);
    }
}
