// Sending: uv_udp_try_send first, which hands the datagram to the kernel during the call and
// allocates nothing (the destination is encoded on the stack). Only when the kernel cannot take it
// now (EAGAIN, ENOBUFS: its buffer is full), or earlier sends still wait in libuv's queue (libuv
// then refuses try_send, which keeps datagrams in order), does the send go through uv_udp_send
// and park: see Native/UdpSendRequest.cs.

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Evergreen.Native;

namespace Evergreen.IO;

public sealed partial class UdpEndpoint
{
    private WaitList<UdpSendRequest> _freeSends;

    /// <summary>
    /// Sends <paramref name="data"/> as one datagram to <paramref name="remote"/>. Returns at
    /// once, without parking (not a yield point), when the kernel takes the datagram, which is
    /// nearly always; this path allocates nothing. When the kernel's buffer is full the datagram
    /// is copied and queued in libuv, and the tasklet parks (a yield point) until it is sent. A
    /// kill or an expired <see cref="CancelScope"/> ends that wait at once, and the copy is still
    /// sent: a cancelled send may have gone out, as a datagram may be lost; the caller's memory
    /// is never used after the call. An unbound endpoint is bound to a port the system picks.
    /// </summary>
    /// <param name="data">The payload: at most 65,507 bytes over IPv4 and 65,527 over IPv6 (less where the system says so).</param>
    /// <param name="remote">Where to: an address of the endpoint's family (a broadcast address needs <see cref="EnableBroadcast"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="remote"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="remote"/> is of the other address family.</exception>
    /// <exception cref="UvException">
    /// The system refused the datagram: <c>EMSGSIZE in send of a 70,000-byte datagram (IPv4 carries at most 65,507) to 127.0.0.1:5000 (message too long)</c>,
    /// <c>EACCES</c> for a broadcast without <see cref="EnableBroadcast"/>, and so on. The endpoint stays usable.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The endpoint is closed, or was closed before the queued datagram was sent.</exception>
    /// <exception cref="InvalidOperationException">It must wait and this is not a tasklet, or another thread.</exception>
    /// <exception cref="TaskletExit">The tasklet was killed while waiting.</exception>
    /// <exception cref="TimeoutException">An enclosing <see cref="CancelScope"/> expired while waiting.</exception>
    public unsafe ValueTask SendAsync(ReadOnlyMemory<byte> data, IPEndPoint remote)
    {
        CheckOpen("UdpEndpoint.SendAsync");
        ArgumentNullException.ThrowIfNull(remote);
        CheckFamily(remote.Address, remote, nameof(remote));
        byte* addr = stackalloc byte[SockAddr.In6Size];
        SockAddr.Write(remote, addr);
        if (!AlwaysQueueSends)
        {
            int rc;
            fixed (byte* p = data.Span)
            {
                var buf = new UvBuf((IntPtr)p, (nuint)data.Length);
                rc = LibUvNet.uv_udp_try_send(_handle.Handle, &buf, 1, addr);
            }
            if (rc >= 0) return default;
            if (rc != UvError.EAGAIN && rc != UvError.ENOBUFS) throw SendError(rc, data.Length, remote);
        }
        return UdpSendRequest.Start(this, data.Span, remote, addr);
    }

    /// <summary>Skip <c>uv_udp_try_send</c> (tests: the queued path, which loopback hardly ever needs).</summary>
    internal bool AlwaysQueueSends { get; set; }

    /// <summary>The most one datagram of this endpoint's family can carry (65,535 less the IP and UDP headers).</summary>
    internal int MaxDatagram => AddressFamily == AddressFamily.InterNetwork ? 65_507 : 65_527;

    /// <summary>The error for a send the system refused with <paramref name="rc"/>.</summary>
    internal Exception SendError(int rc, int length, IPEndPoint remote)
    {
        if (rc == UvError.ECANCELED && _closed)
        {
            return new ObjectDisposedException($"UdpEndpoint #{Id}", $"UdpEndpoint #{Id} was closed before the datagram to {remote} was sent.");
        }
        string operation = string.Create(CultureInfo.InvariantCulture, $"send of a {length:N0}-byte datagram");
        if (rc == UvError.EMSGSIZE && length > MaxDatagram)
        {
            operation += string.Create(CultureInfo.InvariantCulture, $" ({Family(AddressFamily)} carries at most {MaxDatagram:N0})");
        }
        return new UvException(rc, operation, remote.ToString());
    }

    /// <summary>The native <c>uv_udp_t*</c>, for the send request.</summary>
    internal IntPtr NativeHandle => _handle.Handle;

    internal UdpSendRequest RentSend() => _freeSends.TakeFirst() ?? new UdpSendRequest(this);

    internal void ReturnSend(UdpSendRequest node) => _freeSends.AddLast(node);
}
