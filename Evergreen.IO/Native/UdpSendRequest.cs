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
// per endpoint (a ParkedOperation in the endpoint's free WaitList). A send cannot be recalled
// (libuv owns it until the callback): an aborted wait detaches the node, and it is reused only
// once the callback has come, by the base's one rule (Park/ParkedOperation.cs). If the park
// itself cannot begin after the send was queued (misuse: the tasklet already waits on something),
// the node is left idle and the callback, finding it so, just frees it.
//
// Must never: free the native request or reuse the buffer before the callback; run user code in
// the callback (it only wakes the tasklet).

using System.Diagnostics;
using System.Net;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Evergreen.IO;

namespace Evergreen.Native;

/// <summary>One queued <c>uv_udp_send</c> of a <see cref="UdpEndpoint"/> (a request; its node pooled per endpoint).</summary>
internal sealed unsafe class UdpSendRequest : ParkedOperation<bool>
{
    private const int MinBuffer = 2048;

    private readonly UdpEndpoint _endpoint;
    private byte[]? _buffer;    // pinned (pinned object heap): the datagram's copy
    private IntPtr _req;        // the native uv_udp_send_t, from Start until the callback
    private GCHandle _self;
    private IPEndPoint? _remote;
    private int _length;
    private int _status;

    internal UdpSendRequest(UdpEndpoint endpoint) => _endpoint = endpoint;

    /// <summary>Copies <paramref name="data"/>, queues it in libuv for <paramref name="addr"/> and parks the current tasklet.</summary>
    internal static ValueTask Start(UdpEndpoint endpoint, ReadOnlySpan<byte> data, IPEndPoint remote, byte* addr)
    {
        Tasklet.RequireCurrent("UdpEndpoint.SendAsync");
        // Nothing larger fits in an IP datagram: do not copy it to hear EMSGSIZE from the kernel.
        if (data.Length > 65_535) throw endpoint.SendError(UvError.EMSGSIZE, data.Length, remote);
        var node = endpoint.RentSend();
        if (node._buffer is null || node._buffer.Length < data.Length)
        {
            node._buffer = GC.AllocateUninitializedArray<byte>(Math.Max(MinBuffer, (int)BitOperations.RoundUpToPowerOf2((uint)data.Length)), pinned: true);
        }
        data.CopyTo(node._buffer);
        node._req = (IntPtr)NativeMemory.AllocZeroed(LibUvNet.uv_req_size(UvReqType.UdpSend));
        node._self = GCHandle.Alloc(node);
        LibUvNet.uv_req_set_data(node._req, GCHandle.ToIntPtr(node._self));
        node._remote = remote;
        node._length = data.Length;
        var buf = new UvBuf((IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(node._buffer)), (nuint)data.Length);
        int rc = LibUvNet.uv_udp_send(node._req, endpoint.NativeHandle, &buf, 1, addr, &OnSent); // copies buf and addr
        if (rc < 0)
        {
            node.FreeNative();
            node.OnIdle();
            throw endpoint.SendError(rc, data.Length, remote);
        }
        return node.ParkVoidAsync("UdpEndpoint.SendAsync"); // if it throws, the node stays idle: OnSent frees it
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnSent(IntPtr req, int status)
    {
        UdpSendRequest? node = null;
        try
        {
            node = (UdpSendRequest)GCHandle.FromIntPtr(LibUvNet.uv_req_get_data(req)).Target!;
            node.FreeNative();
            if (!node.IsBusy)
            {
                node.OnIdle(); // nobody ever parked on it
                return;
            }
            node._status = status;
            node.Complete(); // a detached send: the outcome is dropped
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(null, e, "a UDP send callback");
        }
    }

    protected override bool Finish(bool completed)
    {
        if (_status < 0) throw _endpoint.SendError(_status, _length, _remote!);
        return true;
    }

    // The datagram sits in libuv's queue: it cannot be taken back, and still goes out.
    protected override bool TryRecall() => false;

    private void FreeNative()
    {
        if (_req == IntPtr.Zero) return;
        NativeMemory.Free((void*)_req);
        _req = IntPtr.Zero;
        if (_self.IsAllocated) _self.Free();
    }

    protected override void OnIdle()
    {
        Debug.Assert(_req == IntPtr.Zero);
        _remote = null;
        _status = 0;
        _endpoint.ReturnSend(this);
    }

    public override string ToString() => $"{_endpoint} to send {_length} bytes to {_remote}";
}
