// The uv_tcp_t behind a TcpStream or a TcpServer, and libuv's callbacks for it.
//
// The handle is the managed owner of the native memory (UvHandle): its data field holds a
// GCHandle to it, freed in the close callback. Its requests (one write and one shutdown request,
// reused; a connect request per attempt) carry the same GCHandle in their data field, which
// stays valid for them: libuv runs every request's callback (with ECANCELED if need be) before
// the close callback. The reused requests are freed in OnClosed, after that.
//
// Every callback catches everything: an exception must never unwind into libuv.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Evergreen.Native;

namespace Evergreen.IO.Native;

/// <summary>A <c>uv_tcp_t</c> owned by a <see cref="TcpStream"/> or a <see cref="TcpServer"/>.</summary>
internal sealed unsafe class UvTcpHandle : UvHandle
{
    private IntPtr _writeReq, _shutdownReq;

    internal UvTcpHandle(EventLoop loop, string description) : base(loop, UvHandleType.Tcp, description) =>
        Init(LibUvNet.uv_tcp_init(loop.NativeHandle, Handle), "uv_tcp_init");

    /// <summary>A handle whose socket exists at once, of <paramref name="family"/> (uv_tcp_init_ex), so options can be set before connecting.</summary>
    internal UvTcpHandle(EventLoop loop, string description, System.Net.Sockets.AddressFamily family) : base(loop, UvHandleType.Tcp, description) =>
        Init(LibUvNet.uv_tcp_init_ex(loop.NativeHandle, Handle, (uint)SockAddr.NativeFamily(family)), "uv_tcp_init_ex");

    /// <summary>The stream this handle carries (a connection), or null.</summary>
    internal TcpStream? Stream;

    /// <summary>The server this handle listens for, or null.</summary>
    internal TcpServer? Server;

    /// <summary>The stream's reusable write request.</summary>
    internal IntPtr WriteRequest => _writeReq != IntPtr.Zero ? _writeReq : _writeReq = NewRequest(UvReqType.Write);

    /// <summary>The stream's shutdown request.</summary>
    internal IntPtr ShutdownRequest => _shutdownReq != IntPtr.Zero ? _shutdownReq : _shutdownReq = NewRequest(UvReqType.Shutdown);

    /// <summary>A new request whose data names this handle; the caller frees it (or OnClosed does, for the reused ones).</summary>
    internal IntPtr NewRequest(UvReqType type)
    {
        var req = (IntPtr)NativeMemory.AllocZeroed(LibUvNet.uv_req_size(type));
        LibUvNet.uv_req_set_data(req, NativeData);
        return req;
    }

    internal static void FreeRequest(IntPtr req) => NativeMemory.Free((void*)req);

    protected override void OnClosed()
    {
        if (_writeReq != IntPtr.Zero) FreeRequest(_writeReq);
        if (_shutdownReq != IntPtr.Zero) FreeRequest(_shutdownReq);
        _writeReq = _shutdownReq = IntPtr.Zero;
        Stream?.OnHandleClosed();
        Server?.OnHandleClosed();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static UvTcpHandle FromRequest(IntPtr req) =>
        Unsafe.As<UvTcpHandle>(GCHandle.FromIntPtr(LibUvNet.uv_req_get_data(req)).Target!);

    // --- callbacks -----------------------------------------------------------------------------

    internal static delegate* unmanaged[Cdecl]<IntPtr, nuint, UvBuf*, void> AllocCallback => &OnAlloc;
    internal static delegate* unmanaged[Cdecl]<IntPtr, nint, UvBuf*, void> ReadCallback => &OnRead;
    internal static delegate* unmanaged[Cdecl]<IntPtr, int, void> WriteCallback => &OnWrite;
    internal static delegate* unmanaged[Cdecl]<IntPtr, int, void> ShutdownCallback => &OnShutdown;
    internal static delegate* unmanaged[Cdecl]<IntPtr, int, void> ConnectCallback => &OnConnect;
    internal static delegate* unmanaged[Cdecl]<IntPtr, int, void> ConnectionCallback => &OnConnection;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnAlloc(IntPtr handle, nuint suggested, UvBuf* buf)
    {
        UvTcpHandle? self = null;
        try
        {
            self = FromNative<UvTcpHandle>(handle);
            self.Stream!.OnAlloc(buf);
        }
        catch (Exception e)
        {
            buf->Base = IntPtr.Zero; // libuv then reports ENOBUFS to the read callback
            buf->Length = 0;
            EventLoop.ReportFromNative(self?.Loop, e, "a TCP read buffer allocation");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnRead(IntPtr handle, nint nread, UvBuf* buf)
    {
        UvTcpHandle? self = null;
        try
        {
            self = FromNative<UvTcpHandle>(handle);
            self.Stream!.OnRead((int)nread);
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(self?.Loop, e, "a TCP read callback");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnWrite(IntPtr req, int status)
    {
        UvTcpHandle? self = null;
        try
        {
            self = FromRequest(req);
            self.Stream!.OnWritten(status);
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(self?.Loop, e, "a TCP write callback");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnShutdown(IntPtr req, int status)
    {
        UvTcpHandle? self = null;
        try
        {
            self = FromRequest(req);
            self.Stream!.OnShutdownDone(status);
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(self?.Loop, e, "a TCP shutdown callback");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnConnect(IntPtr req, int status)
    {
        UvTcpHandle? self = null;
        try
        {
            self = FromRequest(req);
            FreeRequest(req);
            self.Stream!.OnConnected(status);
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(self?.Loop, e, "a TCP connect callback");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnConnection(IntPtr server, int status)
    {
        UvTcpHandle? self = null;
        try
        {
            self = FromNative<UvTcpHandle>(server);
            self.Server!.OnConnection(status);
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(self?.Loop, e, "a TCP connection callback");
        }
    }
}
