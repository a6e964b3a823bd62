// A UDP socket for tasklets, on one libuv uv_udp_t handle (Native/UvUdp.cs).
//
// This file holds the endpoint's life (create, bind, close); its socket options are in
// UdpEndpoint.Options.cs, sending in UdpEndpoint.Send.cs, and receiving, with its bounded queue,
// in UdpEndpoint.Receive.cs (its waiting receivers in UdpEndpoint.Waiters.cs).
//
// The handle is unreferenced except while a tasklet waits in ReceiveAsync: an endpoint that
// nobody waits on does not keep the loop alive, so a program ends when its tasklets do, while a
// tasklet waiting for a datagram keeps it running (one may still come). Queued sends keep the
// loop alive by themselves: libuv counts their requests.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Evergreen.Native;

namespace Evergreen.IO;

/// <summary>
/// A UDP socket for tasklets (Evergreen's <c>UDPEndpoint</c>; a libuv handle): bind it, send
/// datagrams to any endpoint with <see cref="SendAsync"/>, and receive them with their sender
/// with <see cref="ReceiveAsync"/>. Broadcast, TTL and multicast options. Lives on the loop of
/// the thread that creates it, and every member must be called on that thread. Close it with
/// <see cref="DisposeAsync"/> (or <see cref="Close"/>).
/// <code>
/// await using var udp = new UdpEndpoint();
/// udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
/// await udp.SendAsync("ping"u8.ToArray(), peer);
/// var (data, from) = await udp.ReceiveAsync();
/// </code>
/// UDP may drop datagrams: when the kernel's buffer is full, and here too when the endpoint's own
/// receive queue is full (see <see cref="MaxQueuedDatagrams"/>).
/// </summary>
[DebuggerDisplay("{ToString(),nq}: {QueuedDatagrams} queued, {WaitingReceivers} receivers waiting")]
public sealed partial class UdpEndpoint : IAsyncDisposable
{
    private static int s_nextId;

    private readonly EventLoop _loop;
    private readonly UvUdp _handle;
    private readonly WaitQueue _closeWaiters;
    private IPAddress? _multicastInterface;
    private bool _closed;     // Close ran: no more calls
    private bool _closeDone;  // the close callback came: libuv is done with the handle

    /// <summary>
    /// Creates an unbound endpoint of <paramref name="family"/> on the current thread's loop.
    /// An IPv6 endpoint is dual-stack (it can reach IPv4 peers through IPv4-mapped addresses)
    /// unless the system says otherwise.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="family"/> is neither IPv4 nor IPv6.</exception>
    /// <exception cref="InvalidOperationException">There is no loop on this thread.</exception>
    /// <exception cref="UvException">The socket cannot be created (<c>EMFILE</c>: too many open files).</exception>
    public UdpEndpoint(AddressFamily family = AddressFamily.InterNetwork)
    {
        if (family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentOutOfRangeException(nameof(family), family, "a UdpEndpoint is InterNetwork (IPv4) or InterNetworkV6 (IPv6)");
        }
        _loop = EventLoop.Current;
        _loop.ThrowIfDisposed();
        Id = Interlocked.Increment(ref s_nextId);
        AddressFamily = family;
        _closeWaiters = new WaitQueue($"UdpEndpoint #{Id} to close");
        _handle = new UvUdp(_loop, this, SockAddr.NativeFamily(family), $"UdpEndpoint #{Id}");
        _handle.Unref(); // referenced only while a receiver waits
    }

    /// <summary>A number naming this endpoint in diagnostics.</summary>
    public int Id { get; }

    /// <summary>IPv4 or IPv6, as created.</summary>
    public AddressFamily AddressFamily { get; }

    /// <summary>True once <see cref="Close"/> (or <see cref="DisposeAsync"/>) has run.</summary>
    public bool IsClosed => _closed;

    /// <summary>
    /// The local address and port, or null while the endpoint is not bound. A send binds an
    /// unbound endpoint to the any-address and a port the system picks.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The endpoint is closed.</exception>
    public unsafe IPEndPoint? LocalEndPoint
    {
        get
        {
            CheckOpen("UdpEndpoint.LocalEndPoint");
            byte* name = stackalloc byte[SockAddr.StorageSize];
            if (!GetSockName(name)) return null;
            var endPoint = SockAddr.ReadEndPoint(name);
            return endPoint is null || endPoint.Port == 0 ? null : endPoint;
        }
    }

    /// <summary>
    /// Binds the endpoint to <paramref name="local"/> (port 0: the system picks one; read it from
    /// <see cref="LocalEndPoint"/>). Not a yield point.
    /// </summary>
    /// <param name="local">The local address and port.</param>
    /// <param name="reuseAddress">
    /// Let other sockets bind the same address and port (<c>SO_REUSEADDR</c> on Linux,
    /// <c>SO_REUSEPORT</c> on macOS): for several multicast listeners on one port.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="local"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="local"/> is of the other address family.</exception>
    /// <exception cref="UvException">The system refused, e.g. <c>EADDRINUSE in bind to 127.0.0.1:5000</c>, or <c>EINVAL</c> when already bound.</exception>
    /// <exception cref="ObjectDisposedException">The endpoint is closed.</exception>
    public unsafe void Bind(IPEndPoint local, bool reuseAddress = false)
    {
        CheckOpen("UdpEndpoint.Bind");
        ArgumentNullException.ThrowIfNull(local);
        CheckFamily(local.Address, local, nameof(local));
        byte* addr = stackalloc byte[SockAddr.StorageSize];
        SockAddr.Write(local, addr);
        int rc = LibUvNet.uv_udp_bind(_handle.Handle, addr, reuseAddress ? LibUvNet.UdpReuseAddr : 0);
        if (rc < 0) throw new UvException(rc, "bind", local.ToString());
    }

    // --- closing -----------------------------------------------------------------------------

    /// <summary>
    /// Closes the endpoint: receiving stops, queued datagrams are dropped, tasklets waiting in
    /// <see cref="ReceiveAsync"/> get an <see cref="ObjectDisposedException"/>, and sends still in
    /// libuv's queue are cancelled (their <see cref="SendAsync"/> throws
    /// <see cref="ObjectDisposedException"/>). The socket is released in the close callback,
    /// soon after; <see cref="DisposeAsync"/> waits for it. Closing twice does nothing. Not a
    /// yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the loop's.</exception>
    public void Close()
    {
        _loop.VerifyAccess("UdpEndpoint.Close");
        if (_closed) return;
        _closed = true;
        DropReceiveState();
        _handle.Close();
    }

    /// <summary>
    /// Closes the endpoint (see <see cref="Close"/>) and, in a tasklet, parks until libuv has
    /// released the socket, so its port is free when this returns. A yield point when it waits;
    /// outside a tasklet it only closes. A kill or an expired <see cref="CancelScope"/> ends the
    /// wait; the socket is released all the same.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the loop's.</exception>
    public ValueTask DisposeAsync()
    {
        Close();
        if (_closeDone || Tasklet.Current is null) return default;
        return WaitForCloseAsync();
    }

    private async ValueTask WaitForCloseAsync()
    {
        while (!_closeDone) await _closeWaiters.ParkAsync();
    }

    /// <summary>The close callback (from <see cref="UvUdp"/>): libuv will call nothing of this endpoint's again.</summary>
    internal void OnHandleClosed()
    {
        _closed = _closeDone = true;
        _closeWaiters.UnparkAll();
    }

    // --- checks ------------------------------------------------------------------------------

    private void CheckOpen(string member)
    {
        _loop.VerifyAccess(member);
        if (_closed) throw new ObjectDisposedException($"UdpEndpoint #{Id}", $"{member}: UdpEndpoint #{Id} is closed.");
    }

    private IntPtr Handle(string member)
    {
        CheckOpen(member);
        return _handle.Handle;
    }

    private void CheckFamily(IPAddress address, object shown, string paramName)
    {
        if (address.AddressFamily == AddressFamily) return;
        throw new ArgumentException(
            $"{this} is {Family(AddressFamily)} and {shown} is {Family(address.AddressFamily)}" +
            (AddressFamily == AddressFamily.InterNetworkV6 && address.AddressFamily == AddressFamily.InterNetwork
                ? " (map it with IPAddress.MapToIPv6(), or use an InterNetwork endpoint)" : " (use an InterNetworkV6 endpoint)"),
            paramName);
    }

    private static string Family(AddressFamily family) => family == AddressFamily.InterNetwork ? "IPv4" : "IPv6";

    private unsafe bool GetSockName(byte* name)
    {
        int length = SockAddr.StorageSize;
        return LibUvNet.uv_udp_getsockname(_handle.Handle, name, &length) == 0;
    }

    /// <inheritdoc/>
    public override string ToString() => _closed ? $"UdpEndpoint #{Id} (closed)" : $"UdpEndpoint #{Id}";
}
