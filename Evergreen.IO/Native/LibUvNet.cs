using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>The request types of libuv 1.x (<c>uv_req_type</c>), in libuv's order.</summary>
internal enum UvReqType
{
    Unknown = 0, Req, Connect, Write, Shutdown, UdpSend, Fs, Work, GetAddrInfo, GetNameInfo, Random,
}

/// <summary>The <c>uv_membership</c> values of <c>uv_udp_set_membership</c>.</summary>
internal enum UvMembership { LeaveGroup = 0, JoinGroup = 1 }

/// <summary>
/// The libuv bindings Evergreen.IO owns: requests, streams, TCP, UDP and DNS (Core binds the loop
/// and its own handles). Blittable arguments, <c>[UnmanagedCallersOnly]</c> callbacks; the library
/// is the one Core resolves (<see cref="UvLibrary"/>).
/// </summary>
internal static unsafe partial class LibUvNet
{
    /// <summary>These bindings resolve to the libuv Core found (<see cref="UvLibrary"/>).</summary>
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The resolver must be in place before any libuv call.")]
    internal static void Install() => UvLibrary.ResolveFor(typeof(LibUvNet).Assembly);

    // --- requests -----------------------------------------------------------------------------
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_req_size")] internal static partial nuint uv_req_size(UvReqType type);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_req_get_data"), SuppressGCTransition] internal static partial IntPtr uv_req_get_data(IntPtr req);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_req_set_data"), SuppressGCTransition] internal static partial void uv_req_set_data(IntPtr req, IntPtr data);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_cancel")] internal static partial int uv_cancel(IntPtr req);

    // --- streams ------------------------------------------------------------------------------
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_listen")] internal static partial int uv_listen(IntPtr stream, int backlog, delegate* unmanaged[Cdecl]<IntPtr, int, void> cb);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_accept")] internal static partial int uv_accept(IntPtr server, IntPtr client);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_read_start")] internal static partial int uv_read_start(IntPtr stream, delegate* unmanaged[Cdecl]<IntPtr, nuint, UvBuf*, void> allocCb, delegate* unmanaged[Cdecl]<IntPtr, nint, UvBuf*, void> readCb);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_read_stop")] internal static partial int uv_read_stop(IntPtr stream);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_write")] internal static partial int uv_write(IntPtr req, IntPtr stream, UvBuf* bufs, uint nbufs, delegate* unmanaged[Cdecl]<IntPtr, int, void> cb);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_try_write")] internal static partial int uv_try_write(IntPtr stream, UvBuf* bufs, uint nbufs);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_shutdown")] internal static partial int uv_shutdown(IntPtr req, IntPtr stream, delegate* unmanaged[Cdecl]<IntPtr, int, void> cb);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_is_readable"), SuppressGCTransition] internal static partial int uv_is_readable(IntPtr stream);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_is_writable"), SuppressGCTransition] internal static partial int uv_is_writable(IntPtr stream);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_stream_get_write_queue_size"), SuppressGCTransition] internal static partial nuint uv_stream_get_write_queue_size(IntPtr stream);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_send_buffer_size")] internal static partial int uv_send_buffer_size(IntPtr handle, int* value);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_recv_buffer_size")] internal static partial int uv_recv_buffer_size(IntPtr handle, int* value);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_fileno")] internal static partial int uv_fileno(IntPtr handle, int* fd);

    // --- tcp ----------------------------------------------------------------------------------
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_tcp_init")] internal static partial int uv_tcp_init(IntPtr loop, IntPtr tcp);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_tcp_init_ex")] internal static partial int uv_tcp_init_ex(IntPtr loop, IntPtr tcp, uint flags);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_tcp_nodelay")] internal static partial int uv_tcp_nodelay(IntPtr tcp, int enable);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_tcp_keepalive")] internal static partial int uv_tcp_keepalive(IntPtr tcp, int enable, uint delaySeconds);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_tcp_bind")] internal static partial int uv_tcp_bind(IntPtr tcp, byte* addr, uint flags);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_tcp_getsockname")] internal static partial int uv_tcp_getsockname(IntPtr tcp, byte* name, int* namelen);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_tcp_getpeername")] internal static partial int uv_tcp_getpeername(IntPtr tcp, byte* name, int* namelen);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_tcp_connect")] internal static partial int uv_tcp_connect(IntPtr req, IntPtr tcp, byte* addr, delegate* unmanaged[Cdecl]<IntPtr, int, void> cb);

    /// <summary><c>UV_TCP_IPV6ONLY</c>, a flag of <c>uv_tcp_bind</c>.</summary>
    internal const uint TcpIPv6Only = 1;

    // --- dns ----------------------------------------------------------------------------------
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_getaddrinfo")] internal static partial int uv_getaddrinfo(IntPtr loop, IntPtr req, delegate* unmanaged[Cdecl]<IntPtr, int, IntPtr, void> cb, byte* node, byte* service, void* hints);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_freeaddrinfo")] internal static partial void uv_freeaddrinfo(IntPtr ai);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_getnameinfo")] internal static partial int uv_getnameinfo(IntPtr loop, IntPtr req, delegate* unmanaged[Cdecl]<IntPtr, int, byte*, byte*, void> cb, byte* addr, int flags);

    // --- udp ----------------------------------------------------------------------------------
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_init")] internal static partial int uv_udp_init(IntPtr loop, IntPtr udp);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_init_ex")] internal static partial int uv_udp_init_ex(IntPtr loop, IntPtr udp, uint flags);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_bind")] internal static partial int uv_udp_bind(IntPtr udp, byte* addr, uint flags);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_connect")] internal static partial int uv_udp_connect(IntPtr udp, byte* addr);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_getsockname")] internal static partial int uv_udp_getsockname(IntPtr udp, byte* name, int* namelen);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_send")] internal static partial int uv_udp_send(IntPtr req, IntPtr udp, UvBuf* bufs, uint nbufs, byte* addr, delegate* unmanaged[Cdecl]<IntPtr, int, void> cb);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_try_send")] internal static partial int uv_udp_try_send(IntPtr udp, UvBuf* bufs, uint nbufs, byte* addr);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_recv_start")] internal static partial int uv_udp_recv_start(IntPtr udp, delegate* unmanaged[Cdecl]<IntPtr, nuint, UvBuf*, void> allocCb, delegate* unmanaged[Cdecl]<IntPtr, nint, UvBuf*, byte*, uint, void> recvCb);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_recv_stop")] internal static partial int uv_udp_recv_stop(IntPtr udp);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_set_broadcast")] internal static partial int uv_udp_set_broadcast(IntPtr udp, int on);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_set_ttl")] internal static partial int uv_udp_set_ttl(IntPtr udp, int ttl);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_set_multicast_ttl")] internal static partial int uv_udp_set_multicast_ttl(IntPtr udp, int ttl);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_set_multicast_loop")] internal static partial int uv_udp_set_multicast_loop(IntPtr udp, int on);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_set_multicast_interface")] internal static partial int uv_udp_set_multicast_interface(IntPtr udp, byte* interfaceAddr);
    [LibraryImport(UvLibrary.Name, EntryPoint = "uv_udp_set_membership")] internal static partial int uv_udp_set_membership(IntPtr udp, byte* multicastAddr, byte* interfaceAddr, UvMembership membership);

    /// <summary><c>UV_UDP_REUSEADDR</c> and <c>UV_UDP_IPV6ONLY</c>, flags of <c>uv_udp_bind</c>.</summary>
    internal const uint UdpIPv6Only = 1, UdpReuseAddr = 4;

    /// <summary><c>UV_UDP_PARTIAL</c> in a receive callback's flags: the datagram was larger than the buffer and was cut.</summary>
    internal const uint UdpPartial = 2;
}
