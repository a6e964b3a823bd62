// The endpoint's socket options. libuv sets them (uv_udp_set_*); the getters read them back from
// the socket (Native/SocketOptions.cs), so they show the system's defaults too.

using System.Net;
using System.Net.Sockets;
using System.Text;
using Evergreen.Native;

namespace Evergreen.IO;

public sealed partial class UdpEndpoint
{
    /// <summary>
    /// Whether datagrams may be sent to broadcast addresses such as 255.255.255.255
    /// (<c>SO_BROADCAST</c>; off by default). Read from the socket; set through libuv.
    /// </summary>
    /// <exception cref="UvException">The system refused.</exception>
    /// <exception cref="ObjectDisposedException">The endpoint is closed.</exception>
    public bool EnableBroadcast
    {
        get => GetOption(SocketOptions.Option.Broadcast, "UdpEndpoint.EnableBroadcast") != 0;
        set => SetOption(LibUvNet.uv_udp_set_broadcast(Handle("UdpEndpoint.EnableBroadcast"), value ? 1 : 0), "uv_udp_set_broadcast");
    }

    /// <summary>
    /// The time-to-live (IPv6: hop limit) of unicast datagrams sent, 1 to 255; the system's
    /// default (usually 64) until set.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not within 1 to 255.</exception>
    /// <exception cref="UvException">The system refused.</exception>
    /// <exception cref="ObjectDisposedException">The endpoint is closed.</exception>
    public int Ttl
    {
        get => GetOption(SocketOptions.Option.Ttl, "UdpEndpoint.Ttl");
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 255);
            SetOption(LibUvNet.uv_udp_set_ttl(Handle("UdpEndpoint.Ttl"), value), "uv_udp_set_ttl");
        }
    }

    /// <summary>The time-to-live (IPv6: hop limit) of multicast datagrams sent, 0 to 255; 1 by default (the local network).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not within 0 to 255.</exception>
    /// <exception cref="UvException">The system refused.</exception>
    /// <exception cref="ObjectDisposedException">The endpoint is closed.</exception>
    public int MulticastTtl
    {
        get => GetOption(SocketOptions.Option.MulticastTtl, "UdpEndpoint.MulticastTtl");
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 255);
            SetOption(LibUvNet.uv_udp_set_multicast_ttl(Handle("UdpEndpoint.MulticastTtl"), value), "uv_udp_set_multicast_ttl");
        }
    }

    /// <summary>
    /// Whether multicast datagrams this endpoint sends are also delivered to members of the group
    /// on this host (<c>IP_MULTICAST_LOOP</c>; on by default).
    /// </summary>
    /// <exception cref="UvException">The system refused.</exception>
    /// <exception cref="ObjectDisposedException">The endpoint is closed.</exception>
    public bool MulticastLoopback
    {
        get => GetOption(SocketOptions.Option.MulticastLoopback, "UdpEndpoint.MulticastLoopback") != 0;
        set => SetOption(LibUvNet.uv_udp_set_multicast_loop(Handle("UdpEndpoint.MulticastLoopback"), value ? 1 : 0), "uv_udp_set_multicast_loop");
    }

    /// <summary>
    /// The local interface multicast datagrams are sent from, by its address (IPv6: an address
    /// whose scope id names the interface, such as <c>::%2</c>); null for the system's choice.
    /// Reads back what was set here.
    /// </summary>
    /// <exception cref="ArgumentException">The address is of the other family.</exception>
    /// <exception cref="UvException">The system refused (no interface has that address).</exception>
    /// <exception cref="ObjectDisposedException">The endpoint is closed.</exception>
    public unsafe IPAddress? MulticastInterface
    {
        get
        {
            CheckOpen("UdpEndpoint.MulticastInterface");
            return _multicastInterface;
        }
        set
        {
            CheckOpen("UdpEndpoint.MulticastInterface");
            if (value is not null) CheckFamily(value, value, nameof(value));
            byte* text = stackalloc byte[TextSize];
            int rc = LibUvNet.uv_udp_set_multicast_interface(_handle.Handle, value is null ? null : Utf8Z(value, text));
            if (rc < 0) throw new UvException(rc, "set the multicast interface", value?.ToString());
            _multicastInterface = value;
        }
    }

    /// <summary>
    /// Joins the multicast group <paramref name="group"/> on <paramref name="localInterface"/>
    /// (null: the system's choice), so datagrams sent to the group reach this endpoint (bind it
    /// to the group's port first). Not a yield point.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="group"/> is null.</exception>
    /// <exception cref="ArgumentException">An address is of the other family, or <paramref name="group"/> is not a multicast address.</exception>
    /// <exception cref="UvException">The system refused (<c>ENODEV</c>: no such interface; <c>EADDRINUSE</c>: already a member).</exception>
    /// <exception cref="ObjectDisposedException">The endpoint is closed.</exception>
    public void JoinMulticastGroup(IPAddress group, IPAddress? localInterface = null) =>
        SetMembership(group, localInterface, UvMembership.JoinGroup, "UdpEndpoint.JoinMulticastGroup");

    /// <summary>Leaves a group joined with <see cref="JoinMulticastGroup"/> (the same arguments). Not a yield point.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="group"/> is null.</exception>
    /// <exception cref="ArgumentException">An address is of the other family, or <paramref name="group"/> is not a multicast address.</exception>
    /// <exception cref="UvException">The system refused (<c>EADDRNOTAVAIL</c>: not a member).</exception>
    /// <exception cref="ObjectDisposedException">The endpoint is closed.</exception>
    public void LeaveMulticastGroup(IPAddress group, IPAddress? localInterface = null) =>
        SetMembership(group, localInterface, UvMembership.LeaveGroup, "UdpEndpoint.LeaveMulticastGroup");

    private unsafe void SetMembership(IPAddress group, IPAddress? localInterface, UvMembership membership, string member)
    {
        CheckOpen(member);
        ArgumentNullException.ThrowIfNull(group);
        CheckFamily(group, group, nameof(group));
        if (!IsMulticast(group)) throw new ArgumentException($"{group} is not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)", nameof(group));
        if (localInterface is not null) CheckFamily(localInterface, localInterface, nameof(localInterface));
        byte* groupText = stackalloc byte[TextSize];
        byte* interfaceText = stackalloc byte[TextSize];
        int rc = LibUvNet.uv_udp_set_membership(_handle.Handle, Utf8Z(group, groupText),
            localInterface is null ? null : Utf8Z(localInterface, interfaceText), membership);
        if (rc < 0)
        {
            throw new UvException(rc, membership == UvMembership.JoinGroup ? "multicast join" : "multicast leave",
                $"{group} on {localInterface?.ToString() ?? "the default interface"}");
        }
    }

    private static bool IsMulticast(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6
        ? address.IsIPv6Multicast
        : (address.GetAddressBytes()[0] & 0xF0) == 0xE0;

    private const int TextSize = 80; // an IPv6 address with a scope id, and its NUL

    /// <summary>Writes the address's text, NUL-terminated, into <paramref name="buffer"/> (<see cref="TextSize"/> bytes); returns it.</summary>
    private static unsafe byte* Utf8Z(IPAddress address, byte* buffer)
    {
        Span<char> chars = stackalloc char[TextSize];
        address.TryFormat(chars, out int length);
        int n = Encoding.ASCII.GetBytes(chars[..length], new Span<byte>(buffer, TextSize - 1));
        buffer[n] = 0;
        return buffer;
    }

    private int GetOption(SocketOptions.Option option, string member) =>
        SocketOptions.Get(Handle(member), option, AddressFamily == AddressFamily.InterNetworkV6);

    private static void SetOption(int rc, string operation)
    {
        if (rc < 0) throw new UvException(rc, operation);
    }
}
