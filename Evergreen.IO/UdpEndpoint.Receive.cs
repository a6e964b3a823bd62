// Receiving: a bounded queue between libuv's receive callback and the tasklets in ReceiveAsync.
//
// Receiving starts (uv_udp_recv_start) on the first ReceiveAsync and then runs whether or not a
// tasklet waits, so datagrams that arrive between two receives are kept. libuv asks for a buffer
// before each datagram; it gets this thread's one pinned 64 KiB buffer (every datagram fits, and
// callbacks on a thread never overlap), and the receive callback copies the datagram out into an
// exact-size array the receiver will own (the sender's IPEndPoint is reused while it does not
// change, so a conversation allocates only those arrays). That array goes straight to the first
// waiting receiver, woken through its park; with nobody waiting it goes to the queue.
//
// The queue is bounded (MaxQueuedDatagrams, MaxQueuedBytes): once full, receiving stops
// (uv_udp_recv_stop) and the kernel's socket buffer fills and then drops, which UDP allows; it
// resumes when receivers have drained the queue to half the bound. Memory is thus bounded by the
// limits plus one datagram, however slow the receiver.
//
// Errors travel the same way as datagrams, in order: a receive error from libuv, or a datagram
// larger than the buffer (UV_UDP_PARTIAL, cut short), is thrown by the ReceiveAsync that would
// have returned it, never silently dropped or truncated.
//
// A waiting receiver is a pooled node (IParkOwner and the awaited source, forwarding to the
// tasklet's park; no native memory, so it is reused as soon as GetResult ran). A datagram handed
// to a receiver is its own even if a kill lands before it runs (the kill then hits its next park),
// so a kill never loses a datagram that was handed over. An aborted wait unlinks its node. Close
// wakes every waiter with ObjectDisposedException.
//
// Must never: keep a pointer into the receive buffer after the callback returns; let the queue
// grow past its bound by more than one datagram; leave a waiter linked after its park ended.

using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Evergreen.Native;

namespace Evergreen.IO;

public sealed partial class UdpEndpoint
{
    /// <summary>The size of the receive buffer: larger than any UDP payload (65,527 bytes).</summary>
    private const int ReceiveBufferLength = 64 * 1024;

    [ThreadStatic] private static byte[]? t_receiveBuffer;

    private readonly Queue<Received> _queue = new();
    private int _queuedBytes;
    private bool _receiving;
    private int _maxQueuedDatagrams = 1024;
    private int _maxQueuedBytes = 1024 * 1024;
    private IPEndPoint? _lastSender; // reused while datagrams come from the same sender
    private bool _bound;             // the socket has a port (it never loses it)

    /// <summary>A datagram, or an error, on its way to a receiver.</summary>
    private readonly record struct Received(byte[]? Data, IPEndPoint? From, Exception? Error);

    /// <summary>
    /// How many received datagrams are kept for <see cref="ReceiveAsync"/> while nobody receives
    /// (1,024 by default). When the queue holds this many, or <see cref="MaxQueuedBytes"/>,
    /// receiving stops until receivers have taken half of them, and the system drops what does
    /// not fit in the socket's own buffer meanwhile.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxQueuedDatagrams
    {
        get => _maxQueuedDatagrams;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxQueuedDatagrams = value;
        }
    }

    /// <summary>
    /// How many payload bytes the receive queue may hold (1 MiB by default); see
    /// <see cref="MaxQueuedDatagrams"/>. The queue may pass it by one datagram.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxQueuedBytes
    {
        get => _maxQueuedBytes;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxQueuedBytes = value;
        }
    }

    /// <summary>How many received datagrams (and errors) wait in the queue for a receiver.</summary>
    public int QueuedDatagrams => _queue.Count;

    /// <summary>How many payload bytes wait in the queue.</summary>
    internal int QueuedBytes => _queuedBytes;

    /// <summary>How many tasklets wait in <see cref="ReceiveAsync"/>.</summary>
    public int WaitingReceivers => _receivers.Count;

    /// <summary>True while libuv is receiving for this endpoint (false before the first receive and while the queue is full).</summary>
    internal bool IsReceiving => _receiving;

    /// <summary>How much of the receive buffer libuv may fill (tests shrink it to provoke UV_UDP_PARTIAL).</summary>
    internal int ReceiveBufferSize { get; set; } = ReceiveBufferLength;

    /// <summary>
    /// Receives the next datagram and its sender. Returns at once, without parking (not a yield
    /// point), when a datagram is queued; otherwise parks (a yield point) until one arrives.
    /// Several tasklets may wait; each datagram goes to one of them, first come first served. A
    /// kill or an expired <see cref="CancelScope"/> ends the wait and takes no datagram: one that
    /// arrives later is queued for the next receive. The first call starts receiving, and
    /// datagrams are queued from then on (see <see cref="MaxQueuedDatagrams"/>).
    /// </summary>
    /// <returns>
    /// The datagram: a new array the caller owns, and the sender (the same
    /// <see cref="IPEndPoint"/> object as the previous datagram's while the sender is the same).
    /// </returns>
    /// <exception cref="InvalidOperationException">
    /// The endpoint is not bound (nothing can reach it: <see cref="Bind"/> it, or send first);
    /// it must wait and this is not a tasklet; or another thread.
    /// </exception>
    /// <exception cref="IOException">
    /// The datagram at the head of the queue was larger than the receive buffer and was cut
    /// (it is dropped), or libuv reported a receive error (a <see cref="UvException"/>). The
    /// endpoint stays usable: the next call returns the next datagram.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The endpoint is closed, or was closed while waiting.</exception>
    /// <exception cref="TaskletExit">The tasklet was killed while waiting.</exception>
    /// <exception cref="TimeoutException">An enclosing <see cref="CancelScope"/> expired while waiting.</exception>
    public ValueTask<UdpDatagram> ReceiveAsync()
    {
        CheckOpen("UdpEndpoint.ReceiveAsync");
        AssertInvariants();
        if (_queue.Count > 0)
        {
            var received = Dequeue();
            if (received.Error is { } error) throw error;
            return new ValueTask<UdpDatagram>(new UdpDatagram(received.Data!, received.From!));
        }
        if (!IsBound())
        {
            throw new InvalidOperationException(
                $"UdpEndpoint.ReceiveAsync: UdpEndpoint #{Id} is not bound, so no datagram can reach it: call Bind first (port 0 lets the system pick one), or send from it first.");
        }
        Tasklet.RequireCurrent("UdpEndpoint.ReceiveAsync");
        if (!_receiving) StartReceiving();
        return (_freeWaiters.TakeFirst() ?? new ReceiveWaiter(this)).Start();
    }

    /// <summary>Whether the socket has a port; asked of the system until it has one (a socket never loses it).</summary>
    private unsafe bool IsBound()
    {
        if (_bound) return true;
        byte* name = stackalloc byte[SockAddr.StorageSize];
        return _bound = GetSockName(name) && *(ushort*)(name + 2) != 0; // sin_port and sin6_port are at 2
    }

    private void StartReceiving()
    {
        int rc;
        unsafe
        {
            rc = LibUvNet.uv_udp_recv_start(_handle.Handle, &OnAlloc, &OnReceive);
        }
        if (rc < 0) throw new UvException(rc, "uv_udp_recv_start", LocalEndPoint?.ToString());
        _receiving = true;
    }

    private void StopReceiving()
    {
        LibUvNet.uv_udp_recv_stop(_handle.Handle);
        _receiving = false;
    }

    private Received Dequeue()
    {
        var received = _queue.Dequeue();
        _queuedBytes -= received.Data?.Length ?? 0;
        if (!_receiving && _queue.Count <= _maxQueuedDatagrams / 2 && _queuedBytes <= _maxQueuedBytes / 2)
        {
            try
            {
                StartReceiving();
            }
            catch (UvException e)
            {
                _queue.Enqueue(new Received(null, null, e)); // the next receive says why nothing comes
            }
        }
        return received;
    }

    /// <summary>A datagram or an error arrived: to the first waiting receiver, else to the queue.</summary>
    private void Deliver(in Received received)
    {
        if (_closed) return;
        AssertInvariants();
        if (_receivers.First is { } waiter)
        {
            Unlink(waiter);
            waiter.Hand(received);
            return;
        }
        _queue.Enqueue(received);
        _queuedBytes += received.Data?.Length ?? 0;
        if (_queue.Count >= _maxQueuedDatagrams || _queuedBytes >= _maxQueuedBytes) StopReceiving();
    }

    [System.Diagnostics.Conditional("DEBUG")]
    private void AssertInvariants()
    {
        System.Diagnostics.Debug.Assert(_receivers.IsEmpty || _queue.Count == 0, "receivers wait only while the queue is empty");
        System.Diagnostics.Debug.Assert(_receivers.IsEmpty || _receiving, "a waiting receiver needs receiving on");
        System.Diagnostics.Debug.Assert(_queuedBytes >= 0 && (_queue.Count > 0 || _queuedBytes == 0), "the byte count matches the queue");
    }

    /// <summary>Close: drop the queue, wake the waiting receivers with the reason.</summary>
    private void DropReceiveState()
    {
        _receiving = false;
        _queue.Clear();
        _queuedBytes = 0;
        while (_receivers.First is { } waiter)
        {
            Unlink(waiter);
            waiter.Hand(new Received(null, null, new ObjectDisposedException($"UdpEndpoint #{Id}",
                $"UdpEndpoint #{Id} was closed while ReceiveAsync waited.")));
        }
    }

    // --- libuv's callbacks ----------------------------------------------------------------------

    /// <summary>
    /// The sender's endpoint: the previous datagram's while it matches (checked against what it is
    /// now, since an IPEndPoint can be changed by whoever holds it), so a conversation with one
    /// peer allocates only the datagrams' arrays.
    /// </summary>
    private unsafe IPEndPoint? Sender(byte* addr)
    {
        if (_lastSender is { } last && SockAddr.Matches(last, addr)) return last;
        return _lastSender = SockAddr.ReadEndPoint(addr);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnAlloc(IntPtr handle, nuint suggestedSize, UvBuf* buf)
    {
        *buf = default; // a zero-length buffer makes libuv report UV_ENOBUFS instead of reading
        try
        {
            var endpoint = UvHandle.FromNative<UvUdp>(handle).Owner;
            var buffer = t_receiveBuffer ??= GC.AllocateUninitializedArray<byte>(ReceiveBufferLength, pinned: true);
            *buf = new UvBuf((IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer)),
                (nuint)Math.Min(endpoint.ReceiveBufferSize, buffer.Length));
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(null, e, "a UDP buffer callback");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnReceive(IntPtr handle, nint nread, UvBuf* buf, byte* addr, uint flags)
    {
        if (nread == 0 && addr == null) return; // the socket is drained for now: no datagram
        UdpEndpoint? endpoint = null;
        try
        {
            endpoint = UvHandle.FromNative<UvUdp>(handle).Owner;
            var from = addr == null ? null : endpoint.Sender(addr);
            if (nread < 0)
            {
                endpoint.Deliver(new Received(null, from, new UvException((int)nread, $"receive on UdpEndpoint #{endpoint.Id}", from?.ToString())));
            }
            else if ((flags & LibUvNet.UdpPartial) != 0)
            {
                endpoint.Deliver(new Received(null, from, new IOException(
                    $"a datagram from {SockAddr.Format(from)} to UdpEndpoint #{endpoint.Id} was larger than the {(int)buf->Length}-byte receive buffer " +
                    "and was cut short (UV_UDP_PARTIAL); it was dropped.")));
            }
            else if (from is not null)
            {
                var data = nread == 0 ? [] : new ReadOnlySpan<byte>((void*)buf->Base, (int)nread).ToArray();
                endpoint.Deliver(new Received(data, from, null));
            }
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(endpoint?._loop, e, "a UDP receive callback");
        }
    }
}
