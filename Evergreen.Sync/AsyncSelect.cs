// Select: one park, a waiter on every channel.
//
// The select is itself the ParkedOperation its tasklet parks on (docs/design.md, "The park and
// its abort protocol"). WaitAsync first tries each channel branch in the order they were added, without waiting; the
// first that can complete does, and nothing else is touched. If none can, a default branch fires,
// or the select parks its tasklet once (with the timeout branch as the park's own timeout) after
// registering one pooled waiter per channel branch in that channel's FIFO, marked with the select
// and the branch index. The channel operation that matches one of those waiters does the hand-off
// in its own turn, exactly as for a plain waiter, then calls Fire: Fire takes every other waiter
// of the select out of its channel and wakes the tasklet, all before the operation returns. So at
// most one branch fires and the others leave no trace. A kill, a scope or the timeout ends the park
// through TryRecall, which takes every waiter back: nothing was handed over.
//
// Must never: fire twice (after Fire no waiter of the select is left in any channel), or run a
// handler before the select is done with the channels (handlers run after the wake, or after the
// ready branch completed, and may use the same channels).

using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Evergreen.Sync;

/// <summary>
/// Waits on several channel operations at once and performs exactly one (Go's <c>select</c>, over
/// Evergreen's <c>Channel</c>): receive on one channel, send on another, with an optional timeout and
/// an optional default branch that fires when nothing is ready.
/// <code>
/// int fired = await new AsyncSelect()
///     .OnReceive(requests, r => Handle(r))
///     .OnSend(results, 42, () => sent++)
///     .OnTimeout(TimeSpan.FromSeconds(1), () => Log("idle"))
///     .WaitAsync();
/// </code>
/// Branches are numbered from 0 in the order they were added; <see cref="WaitAsync"/> returns the
/// number of the one that fired. When several are ready at once the FIRST ready one in that order
/// fires (not a random one as in Go): add the branch you want to favour first. A select can be
/// awaited again once its wait completed (a send branch then sends the same value again).
/// Building one allocates (the select and a branch per <c>On...</c>); waiting on it again does not.
/// Loop thread only.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AsyncSelect : ParkedOperation<int>, IChannelWaitOwner
{
    private readonly List<Branch> _branches = [];
    private int _timeoutIndex = -1;
    private TimeSpan _timeout;
    private Action? _onTimeout;
    private int _defaultIndex = -1;
    private Action? _onDefault;
    private int _fired = -1;
    private LoopAffinity _affinity;

    /// <summary>How many branches were added (of every kind).</summary>
    public int BranchCount => _branches.Count + (_timeoutIndex >= 0 ? 1 : 0) + (_defaultIndex >= 0 ? 1 : 0);

    /// <summary>
    /// Adds a branch that receives a value from <paramref name="channel"/> and passes it to
    /// <paramref name="handler"/>. If the value is an exception (sent with
    /// <see cref="AsyncChannel{T}.SendExceptionAsync"/>), or the channel is closed and drained,
    /// the branch is ready and <see cref="WaitAsync"/> throws it.
    /// </summary>
    /// <returns>This select, to chain.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidOperationException">The select is waiting, or it already sends on <paramref name="channel"/>.</exception>
    public AsyncSelect OnReceive<T>(AsyncChannel<T> channel, Action<T> handler)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(handler);
        CheckAdd("AsyncSelect.OnReceive", channel, receive: true);
        _branches.Add(new ReceiveBranch<T>(channel, handler, BranchCount));
        return this;
    }

    /// <summary>
    /// Adds a branch that sends <paramref name="value"/> on <paramref name="channel"/>, then calls
    /// <paramref name="handler"/>. If the channel is closed the branch is ready and
    /// <see cref="WaitAsync"/> throws <see cref="AsyncChannelClosedException"/>.
    /// </summary>
    /// <returns>This select, to chain.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="channel"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The select is waiting, or it already receives from <paramref name="channel"/>.</exception>
    public AsyncSelect OnSend<T>(AsyncChannel<T> channel, T value, Action? handler = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        CheckAdd("AsyncSelect.OnSend", channel, receive: false);
        _branches.Add(new SendBranch<T>(channel, value, handler, BranchCount));
        return this;
    }

    /// <summary>
    /// Adds a branch that fires when no other has within <paramref name="timeout"/> of the start
    /// of the wait (the wait's own timeout: it leaves every channel untouched).
    /// </summary>
    /// <returns>This select, to chain.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than <see cref="Timeout.InfiniteTimeSpan"/>).</exception>
    /// <exception cref="InvalidOperationException">The select is waiting, or already has a timeout.</exception>
    public AsyncSelect OnTimeout(TimeSpan timeout, Action? handler = null)
    {
        Timeouts.Check(timeout);
        CheckAdd("AsyncSelect.OnTimeout", null, receive: false);
        if (_timeoutIndex >= 0) throw new InvalidOperationException("an AsyncSelect has at most one timeout branch");
        _timeoutIndex = BranchCount;
        _timeout = timeout;
        _onTimeout = handler;
        return this;
    }

    /// <summary>
    /// Adds a branch that fires at once when no channel branch is ready: the select then never
    /// waits (Go's <c>default</c>).
    /// </summary>
    /// <returns>This select, to chain.</returns>
    /// <exception cref="InvalidOperationException">The select is waiting, or already has a default branch.</exception>
    public AsyncSelect OnDefault(Action? handler = null)
    {
        CheckAdd("AsyncSelect.OnDefault", null, receive: false);
        if (_defaultIndex >= 0) throw new InvalidOperationException("an AsyncSelect has at most one default branch");
        _defaultIndex = BranchCount;
        _onDefault = handler;
        return this;
    }

    /// <summary>
    /// Performs exactly one branch and returns its number. Returns at once (not a yield point) when
    /// a channel branch is ready or there is a default branch; otherwise parks (a yield point) until
    /// a channel operation matches one of its branches or the timeout passes. The fired branch's
    /// handler runs before this returns; an exception it throws propagates. A kill or an expired
    /// <see cref="CancelScope"/> while parked leaves every channel as it was (nothing sent or taken).
    /// </summary>
    /// <returns>The number of the branch that fired (0 = the first added).</returns>
    /// <exception cref="AsyncChannelClosedException">The fired branch's channel is closed (and drained, for a receive).</exception>
    /// <exception cref="InvalidOperationException">No branch; the select is already waiting; or it must park and this is not a tasklet.</exception>
    public ValueTask<int> WaitAsync()
    {
        _affinity.Check("AsyncSelect.WaitAsync");
        if (IsBusy) throw new InvalidOperationException("an AsyncSelect can be awaited by one wait at a time");
        if (BranchCount == 0) throw new InvalidOperationException("an AsyncSelect needs at least one branch to wait on");
        foreach (var b in _branches)
        {
            if (b.TryNow()) return new ValueTask<int>(b.Index);
        }
        if (_defaultIndex >= 0)
        {
            _onDefault?.Invoke();
            return new ValueTask<int>(_defaultIndex);
        }
        var wait = ParkAsync("AsyncSelect.WaitAsync", _timeoutIndex >= 0 ? _timeout : null);
        _fired = -1;
        for (int i = 0; i < _branches.Count; i++) _branches[i].Register(this, i);
        return wait;
    }

    /// <summary>After the wake: runs the fired branch (or the timeout's handler) and returns its number.</summary>
    protected override int Finish(bool completed)
    {
        if (!completed)
        {
            _onTimeout?.Invoke();
            return _timeoutIndex;
        }
        var fired = _branches[_fired];
        fired.CompleteFired();
        return fired.Index;
    }

    /// <summary>A kill, a scope or the timeout ended the wait: every waiter is taken back, nothing was handed over.</summary>
    protected override bool TryRecall()
    {
        foreach (var b in _branches) b.Unregister();
        return true;
    }

    Tasklet? IChannelWaitOwner.ParkedTasklet => Waiter;

    /// <summary>A channel completed the waiter of branch <paramref name="branch"/>: take back the others, wake the tasklet.</summary>
    void IChannelWaitOwner.Fire(int branch)
    {
        Debug.Assert(IsWaiting && _fired < 0);
        _fired = branch;
        for (int i = 0; i < _branches.Count; i++)
        {
            if (i != branch) _branches[i].Unregister();
        }
        Complete();
    }

    private void CheckAdd(string member, object? channel, bool receive)
    {
        _affinity.Check(member);
        if (IsBusy) throw new InvalidOperationException("an AsyncSelect cannot gain branches while it waits");
        if (channel is not null && _branches.Exists(b => ReferenceEquals(b.Channel, channel) && b.IsReceive != receive))
        {
            throw new InvalidOperationException($"an AsyncSelect cannot both send on and receive from the same channel ({channel})");
        }
    }

    /// <summary>"a select on AsyncChannel&lt;Int32&gt; #1, AsyncChannel&lt;String&gt; #2": what a tasklet parked on it waits on.</summary>
    public override string ToString() =>
        _branches.Count == 0 ? "a select with no channel" : "a select on " + string.Join(", ", _branches.Select(b => b.Describe()));

    private abstract class Branch(int index)
    {
        /// <summary>The number WaitAsync returns (counting timeout and default branches).</summary>
        public readonly int Index = index;
        public abstract object Channel { get; }
        public abstract bool IsReceive { get; }
        /// <summary>Completes the operation if it needs no wait (running the handler); throws for a closed channel.</summary>
        public abstract bool TryNow();
        /// <summary>Parks a waiter on the channel; <paramref name="position"/> is what it fires with.</summary>
        public abstract void Register(AsyncSelect select, int position);
        /// <summary>Takes the branch's waiter back, if it has one.</summary>
        public abstract void Unregister();
        /// <summary>After the wake: reads and pools the fired waiter, then runs the handler or throws.</summary>
        public abstract void CompleteFired();
        public string Describe() => (IsReceive ? "receive from " : "send on ") + Channel;
    }

    /// <summary>What a receive and a send branch share: the channel, and the waiter parked on it.</summary>
    private abstract class ChannelBranch<T>(AsyncChannel<T> channel, int index) : Branch(index)
    {
        protected readonly AsyncChannel<T> Target = channel;
        private AsyncChannel<T>.Waiter? _waiter;
        public override object Channel => Target;

        protected void Park(AsyncSelect select, int position, bool sender, T value) =>
            _waiter = Target.Register(select, position, sender, value);

        public override void Unregister()
        {
            if (_waiter is { } w)
            {
                _waiter = null;
                Target.Unregister(w);
            }
        }

        /// <summary>Pools the fired waiter and returns its value, or throws the exception sent in its place.</summary>
        protected T TakeFired()
        {
            var w = _waiter!;
            _waiter = null;
            var value = w.Value;
            var error = w.Error;
            Target.Recycle(w);
            if (error is not null) ExceptionDispatchInfo.Throw(error);
            return value;
        }
    }

    private sealed class ReceiveBranch<T>(AsyncChannel<T> channel, Action<T> handler, int index) : ChannelBranch<T>(channel, index)
    {
        public override bool IsReceive => true;

        public override bool TryNow()
        {
            Target.CheckAffinity("AsyncSelect.WaitAsync");
            if (Target.TryReceiveCore(out var value, out var error))
            {
                if (error is not null) ExceptionDispatchInfo.Throw(error);
                handler(value);
                return true;
            }
            if (Target.IsClosedCore) throw Target.ClosedError();
            return false;
        }

        public override void Register(AsyncSelect select, int position) => Park(select, position, sender: false, default!);

        public override void CompleteFired() => handler(TakeFired());
    }

    private sealed class SendBranch<T>(AsyncChannel<T> channel, T value, Action? handler, int index) : ChannelBranch<T>(channel, index)
    {
        public override bool IsReceive => false;

        public override bool TryNow()
        {
            Target.CheckAffinity("AsyncSelect.WaitAsync");
            if (Target.IsClosedCore) throw Target.ClosedError();
            if (!Target.TrySendCore(value, null)) return false;
            handler?.Invoke();
            return true;
        }

        public override void Register(AsyncSelect select, int position) => Park(select, position, sender: true, value);

        public override void CompleteFired()
        {
            TakeFired();
            handler?.Invoke();
        }
    }
}
