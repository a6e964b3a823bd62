using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>
/// Reads socket options with the C library's <c>getsockopt</c>: libuv sets them
/// (<c>uv_udp_set_ttl</c> and friends) but cannot read them, and a property that only echoed the
/// last value set would lie about the system's defaults. The option numbers are Linux's and
/// macOS's; an IPv6 socket's TTL and multicast options are its <c>IPV6_*</c> ones, as libuv sets.
/// </summary>
internal static unsafe partial class SocketOptions
{
    internal enum Option { Broadcast, Ttl, MulticastTtl, MulticastLoopback }

    private static readonly bool s_linux = OperatingSystem.IsLinux();

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int getsockopt(int fd, int level, int name, void* value, uint* length);

    /// <summary>The option's value on the socket of <paramref name="handle"/> (a libuv handle).</summary>
    internal static int Get(IntPtr handle, Option option, bool ipv6)
    {
        int fd;
        UvException.ThrowIfError(LibUvNet.uv_fileno(handle, &fd), "uv_fileno");
        var (level, name) = Number(option, ipv6);
        int value = 0; // a one-byte answer (macOS's IP_MULTICAST_LOOP) lands in the low byte
        uint length = sizeof(int);
        if (getsockopt(fd, level, name, &value, &length) != 0)
        {
            throw new UvException(-Marshal.GetLastPInvokeError(), $"getsockopt({option})");
        }
        return length == 1 ? (byte)value : value;
    }

    private static (int Level, int Name) Number(Option option, bool ipv6)
    {
        const int IPProtoIP = 0, IPProtoIPv6 = 41;
        return (option, ipv6, s_linux) switch
        {
            (Option.Broadcast, _, true) => (1, 6),              // SOL_SOCKET, SO_BROADCAST
            (Option.Broadcast, _, false) => (0xffff, 0x20),
            (Option.Ttl, false, true) => (IPProtoIP, 2),        // IP_TTL
            (Option.Ttl, false, false) => (IPProtoIP, 4),
            (Option.Ttl, true, true) => (IPProtoIPv6, 16),      // IPV6_UNICAST_HOPS
            (Option.Ttl, true, false) => (IPProtoIPv6, 4),
            (Option.MulticastTtl, false, true) => (IPProtoIP, 33),   // IP_MULTICAST_TTL
            (Option.MulticastTtl, false, false) => (IPProtoIP, 10),
            (Option.MulticastTtl, true, true) => (IPProtoIPv6, 18),  // IPV6_MULTICAST_HOPS
            (Option.MulticastTtl, true, false) => (IPProtoIPv6, 10),
            (Option.MulticastLoopback, false, true) => (IPProtoIP, 34),   // IP_MULTICAST_LOOP
            (Option.MulticastLoopback, false, false) => (IPProtoIP, 11),
            (Option.MulticastLoopback, true, true) => (IPProtoIPv6, 19),  // IPV6_MULTICAST_LOOP
            (Option.MulticastLoopback, true, false) => (IPProtoIPv6, 11),
            _ => throw new ArgumentOutOfRangeException(nameof(option)),
        };
    }
}
