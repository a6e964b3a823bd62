// A queued UDP send: one uv_udp_send, parked on by one tasklet.
//
// It is only used when the kernel could not take the datagram at once, so it favours being safe
// over being zero-copy: the datagram is copied into a pinned buffer the request owns, rather than
// pinning the caller's memory. A kill or an expired scope can then end the wait at once while the
// datagram still sits in libuv's queue, and the caller's buffer (say one rented from ArrayPool and
// returned in a finally) is never read after SendAsync has returned or thrown. The copy costs a
// memcpy of at most 64 KiB, on a path that waits for the kernel anyway.
//
// The native request is allocated per send and freed in its callback, which always comes: when the
// datagram is sent, fails, or is cancelled because the endpoint closed (libuv runs the cancelled
// sends' callbacks before the close callback). The managed node (and its pinned buffer) is pooled
// per endpoint, and reused only once both the callback has come and the caller has read the
// outcome, in whichever order those happen.
//
// Must never: free the native request or reuse the buffer before the callback; throw from
// OnCompleted; run user code in the callback (it only wakes the tasklet).

using System.Diagnostics;
using System.Net;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Evergreen.IO;

namespace Evergreen.Native;

/// <summary>One queued <c>uv_udp_send</c> of a <see cref="UdpEndpoint"/> (a request; its node pooled per endpoint).</summary>
[DebuggerDisplay("{ToString(),nq}")]
internal sealed unsafe class UdpSendRequest : IParkOwner, IValueTaskSource
{
    private const int MinBuffer = 2048;

    private readonly UdpEndpoint _endpoint;
    private byte[]? _buffer;    // pinned (pinned object heap): the datagram's copy
    private IntPtr _req;        // the native uv_udp_send_t, from Start until the callback
    private GCHandle _self;
    private Tasklet? _tasklet;
    private IPEndPoint? _remote;
    private int _length;
    private short _token;
    private bool _abandoned;    // the wait ended first: the datagram goes out, nobody hears how
    private bool _finished;     // the callback came
    private bool _handedBack;   // the caller read the outcome (or left)

    internal UdpSendRequest(UdpEndpoint endpoint) => _endpoint = endpoint;

    /// <summary>The endpoint's free list.</summary>
    internal UdpSendRequest? NextFree;

    /// <summary>Copies <paramref name="data"/>, queues it in libuv for <paramref name="addr"/> and parks the current tasklet.</summary>
    internal static ValueTask Start(UdpEndpoint endpoint, ReadOnlySpan<byte> data, IPEndPoint remote, byte* addr)
    {
        var tasklet = Tasklet.RequireCurrent("UdpEndpoint.SendAsync");
        // Nothing larger fits in an IP datagram: do not copy it to hear EMSGSIZE from the kernel.
        if (data.Length > 65_535) throw endpoint.SendError(UvError.EMSGSIZE, data.Length, remote);
        var node = endpoint.RentSend();
        if (node._buffer is null || node._buffer.Length < data.Length)
        {
            node._buffer = GC.AllocateUninitializedArray<byte>(Math.Max(MinBuffer, (int)BitOperations.RoundUpToPowerOf2((uint)data.Length)), pinned: true);
        }
        data.CopyTo(node._buffer);
        node._req = (IntPtr)NativeMemory.AllocZeroed(LibUv.uv_req_size(UvReqType.UdpSend));
        node._self = GCHandle.Alloc(node);
        LibUv.uv_req_set_data(node._req, GCHandle.ToIntPtr(node._self));
        node._remote = remote;
        node._length = data.Length;
        node._abandoned = node._finished = node._handedBack = false;
        var buf = new UvBuf((IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(node._buffer)), (nuint)data.Length);
        int rc = LibUv.uv_udp_send(node._req, endpoint.NativeHandle, &buf, 1, addr, &OnSent); // copies buf and addr
        if (rc < 0)
        {
            node.FreeNative();
            node._finished = node._handedBack = true;
            node.Recycle();
            throw endpoint.SendError(rc, data.Length, remote);
        }
        try
        {
            tasklet.BeginPark(node, -1, yielding: false);
        }
        catch
        {
            node._abandoned = node._handedBack = true; // the callback recycles it
            throw;
        }
        node._tasklet = tasklet;
        node._token = tasklet._version;
        return new ValueTask(node, node._token);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnSent(IntPtr req, int status)
    {
        UdpSendRequest? node = null;
        try
        {
            node = (UdpSendRequest)GCHandle.FromIntPtr(LibUv.uv_req_get_data(req)).Target!;
            node.FreeNative();
            node._finished = true;
            if (node._abandoned)
            {
                if (node._handedBack) node.Recycle();
                return;
            }
            if (status < 0) node._tasklet!.Unpark(node._endpoint.SendError(status, node._length, node._remote!));
            else node._tasklet!.Unpark();
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(null, e, "a UDP send callback");
        }
    }

    void IParkOwner.AbortPark(Tasklet tasklet) => _abandoned = true;

    private IValueTaskSource TaskletPark => _tasklet!;

    public ValueTaskSourceStatus GetStatus(short token) => TaskletPark.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        TaskletPark.OnCompleted(continuation, state, token, flags);

    public void GetResult(short token)
    {
        try
        {
            TaskletPark.GetResult(token); // the send's error, the kill, or the scope's timeout
            if (!_finished)
            {
                _abandoned = true;
                throw new InvalidOperationException(
                    $"a tasklet waiting for {this} was woken by something other than the send (Tasklet.Unpark?); the datagram will still be sent.");
            }
        }
        finally
        {
            _handedBack = true;
            if (_finished) Recycle();
        }
    }

    private void FreeNative()
    {
        if (_req == IntPtr.Zero) return;
        NativeMemory.Free((void*)_req);
        _req = IntPtr.Zero;
        if (_self.IsAllocated) _self.Free();
    }

    private void Recycle()
    {
        Debug.Assert(_finished && _handedBack && _req == IntPtr.Zero);
        _tasklet = null;
        _remote = null;
        _endpoint.ReturnSend(this);
    }

    public override string ToString() => $"{_endpoint} to send {_length} bytes to {_remote}";
}
