using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Evergreen.Sync;

/// <summary>
/// A wait that registers channel waiters without parking on them: an <see cref="AsyncSelect"/>
/// (one per branch) or a channel's <c>await foreach</c> enumerator. The channel that matches one of
/// them does the hand-off, then fires the owner, which wakes its tasklet.
/// </summary>
internal interface IChannelWaitOwner
{
    /// <summary>The waiter registered for <paramref name="branch"/> was completed (and has left its channel).</summary>
    void Fire(int branch);

    /// <summary>The tasklet parked (or about to park) on the owner, or null.</summary>
    Tasklet? ParkedTasklet { get; }
}

public sealed partial class AsyncChannel<T>
{
    private const int MaxPooledWaiters = 16;
    private WaitList<Waiter> _free;

    /// <summary>
    /// One send or receive waiting in one of the channel's WaitLists: a ParkedOperation
    /// (docs/design.md, "The park and its abort protocol") whose ValueTask the caller awaits, or,
    /// with <see cref="Owner"/> set, a branch of a select or an enumerator step, which parks on its
    /// own and is fired through it. A recalled wait (kill, scope, timeout) leaves its list before
    /// anything was handed over. Pooled by the channel.
    /// </summary>
    internal sealed class Waiter(AsyncChannel<T> channel) : ParkedOperation<T>
    {
        internal readonly AsyncChannel<T> Channel = channel;
        internal bool IsSender;
        internal T Value = default!;
        internal Exception? Error;   // for a send: the exception sent in place of a value
        internal TimeSpan? Timeout;
        internal IChannelWaitOwner? Owner;
        internal int Branch;

        /// <summary>The tasklet that waits on this waiter, parked or about to park.</summary>
        internal Tasklet? ParkedBy => Owner is { } owner ? owner.ParkedTasklet : Waiter;

        internal ValueTask<T> Receive(string member, TimeSpan? timeout) => ParkAsync(member, timeout);

        internal ValueTask Send(string member, TimeSpan? timeout) => ParkVoidAsync(member, timeout);

        internal void Wake() => Complete();

        internal void Wake(Exception error) => Complete(error);

        protected override T Finish(bool completed)
        {
            if (!completed)
            {
                throw new TimeoutException(IsSender
                    ? $"{Channel.Describe()}: the send timed out after {Timeouts.Describe(Timeout!.Value)} with no receiver and no room: nothing was handed over."
                    : $"{Channel.Describe()}: the receive timed out after {Timeouts.Describe(Timeout!.Value)} with nothing sent: nothing was taken.");
            }
            if (IsSender) return default!;
            if (Error is { } error) ExceptionDispatchInfo.Throw(error);
            return Value;
        }

        protected override bool TryRecall()
        {
            Channel.ListOf(IsSender).Remove(this);
            return true;
        }

        protected override void OnIdle() => Channel.Recycle(this);

        /// <inheritdoc/>
        public override string ToString() => IsSender ? $"sending on {Channel}" : $"receiving from {Channel}";
    }

    private ref WaitList<Waiter> ListOf(bool sender)
    {
        if (sender) return ref _senders;
        return ref _receivers;
    }

    internal Waiter Rent(bool sender)
    {
        var w = _free.TakeFirst() ?? new Waiter(this);
        w.IsSender = sender;
        return w;
    }

    internal void Recycle(Waiter w)
    {
        Debug.Assert(!ListOf(w.IsSender).Contains(w), "a waiter leaves its list before it is pooled");
        w.Value = default!;
        w.Error = null;
        w.Owner = null;
        w.Timeout = null;
        if (_free.Count < MaxPooledWaiters) _free.AddLast(w);
    }

    /// <summary>Queues a waiter for a select or an enumerator (which parks its tasklet itself).</summary>
    internal Waiter Register(IChannelWaitOwner owner, int branch, bool sender, T value)
    {
        var w = Rent(sender);
        w.Owner = owner;
        w.Branch = branch;
        w.Value = value;
        if (sender)
        {
            _senders.AddLast(w);
            NotifyReadable();
        }
        else
        {
            _receivers.AddLast(w);
            NotifyWritable();
        }
        return w;
    }

    /// <summary>Takes an owner's waiter back (its select fired elsewhere, or was cancelled) and pools it.</summary>
    internal void Unregister(Waiter w)
    {
        ListOf(w.IsSender).Remove(w);
        Recycle(w);
    }
}
