// The channel: a buffer between two FIFO queues of parked waiters.
//
// State is a ring of `capacity` slots (none for a rendezvous channel), the senders parked with
// their value, and the receivers parked for one. Two invariants keep every operation O(1):
//   - receivers wait only while the buffer is empty and no sender waits;
//   - senders wait only while the buffer is full (a rendezvous buffer is always full) and no
//     receiver waits.
// So an operation looks at one place: a send gives its value to the first receiver, else to the
// buffer, else parks; a receive takes the buffer's head (and moves the first waiting sender's
// value into the freed slot), else the first waiting sender's value, else parks.
//
// The hand-off happens in the caller's turn, and the core fixes a woken park's outcome (trio's
// rule): a value given to a woken receiver is that receiver's even if it is killed before it runs,
// and a woken sender's value has been taken. The other side of that rule is AbortPark: a killed or
// timed-out waiter leaves its queue before anything was handed to it, so a cancelled send sent
// nothing and a cancelled receive took nothing.
//
// Waiters are pooled ParkedOperations in two WaitLists (AsyncChannel.Waiter.cs). A parked send or
// receive returns a ValueTask whose source is its node, which reads the value after the park ended:
// no state machine and no allocation per operation. A node may also belong to an AsyncSelect or an
// enumerator, which registers it, parks on its own and is fired through it.
//
// Must never: wake a waiter without first taking it out of its queue, leave a waiter queued after
// its park ended, or let a value be both buffered and handed to a receiver.
//
// Timeouts follow the one rule (docs/design.md): a send or receive whose own timeout passes throws
// a TimeoutException, having sent or taken nothing (it was recalled from its list first).

using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Evergreen.Sync;

/// <summary>
/// A channel between tasklets (Evergreen's <c>Channel</c>, Stackless and Go channel semantics).
/// With the default capacity 0 it is a rendezvous: <see cref="SendAsync"/> returns once a receiver
/// has taken the value. With a capacity it is buffered: a send returns at once while there is room.
/// Senders and receivers are served FIFO. <see cref="Close"/> ends it: receivers drain the buffer,
/// then everyone gets <see cref="AsyncChannelClosedException"/>. <c>await foreach</c> receives until
/// the channel is closed and drained. Wait on several channels with <see cref="AsyncSelect"/>.
/// Loop thread only: a channel belongs to the loop that first uses it.
/// </summary>
/// <typeparam name="T">The type of the values sent.</typeparam>
[DebuggerDisplay("{ToString(),nq}")]
public sealed partial class AsyncChannel<T> : IAsyncEnumerable<T>
{
    private static int s_nextId;

    private readonly Slot[] _buffer;
    private int _head;   // index of the oldest buffered slot
    private int _count;  // buffered slots
    private WaitList<Waiter> _senders;
    private WaitList<Waiter> _receivers;
    private bool _closed;
    private LoopAffinity _affinity;

    private struct Slot
    {
        public T Value;
        public Exception? Error;
    }

    /// <summary>Creates a channel; with <paramref name="capacity"/> 0 (the default) it is a rendezvous.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is negative.</exception>
    public AsyncChannel(int capacity = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _buffer = capacity == 0 ? [] : new Slot[capacity];
        Id = Interlocked.Increment(ref s_nextId);
    }

    /// <summary>A number that names this channel in messages and dumps.</summary>
    public int Id { get; }

    /// <summary>How many values the buffer holds at most; 0 for a rendezvous channel.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>How many values are buffered (sent, not yet received). Always 0 for a rendezvous channel.</summary>
    public int Count
    {
        get { _affinity.Check("AsyncChannel.Count"); return _count; }
    }

    /// <summary>True once <see cref="Close"/> was called (values may still be buffered).</summary>
    public bool IsClosed
    {
        get { _affinity.Check("AsyncChannel.IsClosed"); return _closed; }
    }

    /// <summary>How many tasklets (or selects) are parked sending.</summary>
    public int WaitingSenders
    {
        get { _affinity.Check("AsyncChannel.WaitingSenders"); return _senders.Count; }
    }

    /// <summary>How many tasklets (or selects) are parked receiving.</summary>
    public int WaitingReceivers
    {
        get { _affinity.Check("AsyncChannel.WaitingReceivers"); return _receivers.Count; }
    }

    /// <summary>
    /// Sends <paramref name="value"/>. Returns at once (not a yield point) when a receiver is
    /// waiting (it now owns the value) or the buffer has room; otherwise parks (a yield point)
    /// until a receiver takes the value, or for a buffered channel until it moves into the buffer.
    /// A kill, an expired <see cref="CancelScope"/> or the timeout while parked sends nothing.
    /// </summary>
    /// <param name="value">The value.</param>
    /// <param name="timeout">How long to wait for a receiver (or room); null waits forever. When it passes: <see cref="TimeoutException"/>, and nothing was handed over.</param>
    /// <exception cref="AsyncChannelClosedException">The channel is closed, or was closed while the send waited (nothing was sent).</exception>
    /// <exception cref="TimeoutException"><paramref name="timeout"/> passed, or an enclosing <see cref="CancelScope"/> expired, while the send waited (nothing was sent).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    /// <exception cref="InvalidOperationException">It must park and this is not a tasklet.</exception>
    public ValueTask SendAsync(T value, TimeSpan? timeout = null) => Send(value, null, timeout, "AsyncChannel.SendAsync");

    /// <summary>
    /// Sends <paramref name="error"/>, which the receiving <see cref="ReceiveAsync"/> throws
    /// (Evergreen's <c>send_exception</c>). Waits, buffers and is cancelled exactly like
    /// <see cref="SendAsync"/>; a yield point only when it must wait.
    /// </summary>
    /// <param name="error">The exception to send.</param>
    /// <param name="timeout">As for <see cref="SendAsync"/>. When it passes: <see cref="TimeoutException"/>, and nothing was handed over.</param>
    /// <exception cref="ArgumentNullException"><paramref name="error"/> is null.</exception>
    /// <exception cref="AsyncChannelClosedException">The channel is closed, or was closed while the send waited.</exception>
    /// <exception cref="TimeoutException"><paramref name="timeout"/> passed, or an enclosing <see cref="CancelScope"/> expired, while the send waited.</exception>
    public ValueTask SendExceptionAsync(Exception error, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Send(default!, error, timeout, "AsyncChannel.SendExceptionAsync");
    }

    private ValueTask Send(T value, Exception? error, TimeSpan? timeout, string member)
    {
        _affinity.Check(member);
        Timeouts.Check(timeout);
        if (_closed) return ValueTask.FromException(ClosedError());
        if (TrySendCore(value, error)) return default;
        return ParkSender(value, error, timeout, member);
    }

    /// <summary>The slow path of a send, kept out of the fast one (no try, no inlining of this).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask ParkSender(T value, Exception? error, TimeSpan? timeout, string member)
    {
        var node = Rent(sender: true);
        var wait = node.Send(member, timeout); // throws outside a tasklet: the node is simply dropped
        node.Value = value;
        node.Error = error;
        node.Timeout = timeout;
        _senders.AddLast(node);
        NotifyReadable();
        return wait;
    }

    /// <summary>
    /// Sends <paramref name="value"/> only if that needs no wait: a receiver is waiting, or the
    /// buffer has room. Not a yield point.
    /// </summary>
    /// <returns>True if sent; false if it would have to wait, or the channel is closed.</returns>
    public bool TrySend(T value)
    {
        _affinity.Check("AsyncChannel.TrySend");
        return !_closed && TrySendCore(value, null);
    }

    /// <summary>
    /// Receives the next value: the oldest buffered one, else the first waiting sender's, else
    /// parks (a yield point) until one is sent. Returns at once (not a yield point) when a value
    /// is there. A kill, an expired <see cref="CancelScope"/> or the timeout while parked takes nothing.
    /// </summary>
    /// <param name="timeout">How long to wait for a value; null waits forever. When it passes: <see cref="TimeoutException"/>, and nothing was taken.</param>
    /// <exception cref="AsyncChannelClosedException">The channel is closed and drained.</exception>
    /// <exception cref="TimeoutException"><paramref name="timeout"/> passed, or an enclosing <see cref="CancelScope"/> expired, while the receive waited (nothing was taken).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    /// <exception cref="InvalidOperationException">It must park and this is not a tasklet.</exception>
    /// <remarks>An exception sent with <see cref="SendExceptionAsync"/> is thrown here, and consumed.</remarks>
    public ValueTask<T> ReceiveAsync(TimeSpan? timeout = null)
    {
        _affinity.Check("AsyncChannel.ReceiveAsync");
        Timeouts.Check(timeout);
        if (TryReceiveCore(out var value, out var error))
        {
            return error is null ? new ValueTask<T>(value) : ValueTask.FromException<T>(error);
        }
        if (_closed) return ValueTask.FromException<T>(ClosedError());
        return ParkReceiver(timeout);
    }

    /// <summary>The slow path of a receive, kept out of the fast one.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<T> ParkReceiver(TimeSpan? timeout)
    {
        var node = Rent(sender: false);
        var wait = node.Receive("AsyncChannel.ReceiveAsync", timeout); // throws outside a tasklet: the node is simply dropped
        node.Timeout = timeout;
        _receivers.AddLast(node);
        NotifyWritable();
        return wait;
    }

    /// <summary>
    /// Receives a value only if one is there (buffered, or offered by a waiting sender, which is
    /// then released). Not a yield point.
    /// </summary>
    /// <returns>True with the value; false when nothing is there (or the channel is closed and drained).</returns>
    /// <remarks>An exception sent with <see cref="SendExceptionAsync"/> is thrown here, and consumed.</remarks>
    public bool TryReceive(out T value)
    {
        _affinity.Check("AsyncChannel.TryReceive");
        if (!TryReceiveCore(out value, out var error)) return false;
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        return true;
    }

    /// <summary>
    /// Closes the channel. Parked senders wake with <see cref="AsyncChannelClosedException"/> (their
    /// values are not sent) and later sends throw it; receivers first drain the buffer, then get it
    /// too, parked ones at once. Closing twice does nothing. Not a yield point.
    /// </summary>
    public void Close()
    {
        _affinity.Check("AsyncChannel.Close");
        if (_closed) return;
        _closed = true;
        while (_senders.First is { } s)
        {
            CheckAwaited(s);
            _senders.Remove(s);
            CompleteSender(s, ClosedError());
        }
        Debug.Assert(_receivers.Count == 0 || _count == 0);
        while (_receivers.First is { } r)
        {
            CheckAwaited(r);
            _receivers.Remove(r);
            CompleteReceiver(r, default!, ClosedError());
        }
        _readable?.UnparkAll();
        _writable?.UnparkAll();
        if (_count == 0) _completion?.TrySetResult();
    }

    /// <summary>Sends without waiting, if a receiver waits or the buffer has room. The caller checked <see cref="_closed"/>.</summary>
    internal bool TrySendCore(T value, Exception? error)
    {
        AssertInvariants();
        if (_receivers.First is { } r)
        {
            CheckAwaited(r);
            _receivers.Remove(r);
            CompleteReceiver(r, value, error);
            return true;
        }
        if (_count < _buffer.Length)
        {
            ref var slot = ref _buffer[(_head + _count) % _buffer.Length];
            slot.Value = value;
            slot.Error = error;
            _count++;
            NotifyReadable();
            return true;
        }
        return false;
    }

    /// <summary>Receives without waiting, if a value is buffered or a sender waits.</summary>
    internal bool TryReceiveCore(out T value, out Exception? error)
    {
        AssertInvariants();
        if (_count > 0)
        {
            ref var slot = ref _buffer[_head];
            value = slot.Value;
            error = slot.Error;
            slot = default;
            _head = (_head + 1) % _buffer.Length;
            _count--;
            if (_senders.First is { } s)
            {
                // The buffer was full: the first waiting sender's value takes the freed slot.
                CheckAwaited(s);
                _senders.Remove(s);
                ref var tail = ref _buffer[(_head + _count) % _buffer.Length];
                tail.Value = s.Value;
                tail.Error = s.Error;
                _count++;
                CompleteSender(s, null);
            }
            else
            {
                NotifyWritable();
                if (_closed && _count == 0) _completion?.TrySetResult();
            }
            return true;
        }
        if (_senders.First is { } sender)
        {
            CheckAwaited(sender);
            _senders.Remove(sender);
            value = sender.Value;
            error = sender.Error;
            CompleteSender(sender, null);
            return true;
        }
        value = default!;
        error = null;
        return false;
    }

    internal bool IsClosedCore => _closed;

    internal void CheckAffinity(string member) => _affinity.Check(member);

    internal AsyncChannelClosedException ClosedError() =>
        new($"{Describe()} is closed" + (_closeCause is null ? "" : $": {_closeCause.Message}"), _closeCause);

    /// <summary>
    /// A waiter can be completed only once its tasklet really parked. It has not when the tasklet
    /// itself uses the channel between calling ReceiveAsync (or SendAsync, WaitAsync) and awaiting
    /// it: refuse that before anything moves, instead of losing the value.
    /// </summary>
    private static void CheckAwaited(Waiter w)
    {
        var t = w.ParkedBy;
        if (t is { IsParked: false })
        {
            throw new InvalidOperationException(
                $"{t.Describe()} used {w.Channel.Describe()} while its own wait on it was not awaited yet: await each " +
                "SendAsync, ReceiveAsync or select WaitAsync result at once, before the next operation");
        }
    }

    /// <summary>Wakes a sender whose value was taken (<paramref name="error"/> null) or refused.</summary>
    private void CompleteSender(Waiter node, Exception? error)
    {
        if (node.Owner is { } owner)
        {
            node.Error = error;
            owner.Fire(node.Branch);
            return;
        }
        if (error is null) node.Wake(); else node.Wake(error);
    }

    /// <summary>Hands <paramref name="value"/> (or <paramref name="error"/>) to a receiver and wakes it: the value is its own.</summary>
    private static void CompleteReceiver(Waiter node, T value, Exception? error)
    {
        node.Value = value;
        node.Error = error;
        if (node.Owner is { } owner) owner.Fire(node.Branch);
        else node.Wake();
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(_count >= 0 && _count <= _buffer.Length);
        Debug.Assert(_receivers.Count == 0 || (_count == 0 && _senders.Count == 0), "receivers wait only on an empty channel");
        Debug.Assert(_senders.Count == 0 || _count == _buffer.Length, "senders wait only on a full buffer");
        Debug.Assert(!_closed || _senders.Count == 0, "a closed channel has no parked sender");
    }

    internal string Describe() => $"AsyncChannel<{typeof(T).Name}> #{Id}";

    /// <summary>
    /// "AsyncChannel&lt;Int32&gt; #3 (capacity 4, 2 buffered, 0 senders and 1 receiver waiting)":
    /// what deadlock reports print for a tasklet parked on it.
    /// </summary>
    public override string ToString() =>
        $"{Describe()} ({(_buffer.Length == 0 ? "rendezvous" : $"capacity {_buffer.Length}, {_count} buffered")}, " +
        $"{_senders.Count} sender{(_senders.Count == 1 ? "" : "s")} and {_receivers.Count} receiver{(_receivers.Count == 1 ? "" : "s")} waiting" +
        $"{(_closed ? ", closed" : "")})";
}
