using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Evergreen.Native;

/// <summary>
/// Writes and reads native <c>sockaddr_in</c> / <c>sockaddr_in6</c> field by field, for every
/// libuv call that takes or returns an address, without going through .NET's
/// <see cref="SocketAddress"/>: a UDP send encodes its destination on every call and must
/// allocate nothing. Linux keeps the family in the first two
/// bytes; macOS and the BSDs keep a length byte, then the family byte. Port and address are in
/// network order; an IPv6 scope id is in host order.
/// </summary>
internal static unsafe class SockAddr
{
    private static readonly bool s_bsdLayout = !(OperatingSystem.IsLinux() || OperatingSystem.IsWindows());

    /// <summary><c>AF_INET</c> (2 everywhere).</summary>
    internal const int AfInet = 2;

    /// <summary><c>AF_INET6</c>: 10 on Linux, 23 on Windows, 30 on macOS.</summary>
    internal static readonly int AfInet6 = OperatingSystem.IsLinux() ? 10 : OperatingSystem.IsWindows() ? 23 : 30;

    /// <summary><c>sizeof(struct sockaddr_in)</c> and <c>sizeof(struct sockaddr_in6)</c>.</summary>
    internal const int InSize = 16, In6Size = 28;

    /// <summary>Room for any address libuv hands back (<c>sizeof(struct sockaddr_storage)</c>).</summary>
    internal const int StorageSize = 128;

    /// <summary>"127.0.0.1:80", "[::1]:80": how messages name an endpoint.</summary>
    internal static string Format(IPEndPoint? endPoint) => endPoint?.ToString() ?? "an unknown endpoint";

    /// <summary>The native family for <paramref name="family"/>; 0 (<c>AF_UNSPEC</c>) for <see cref="AddressFamily.Unspecified"/>.</summary>
    internal static int NativeFamily(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => AfInet,
        AddressFamily.InterNetworkV6 => AfInet6,
        AddressFamily.Unspecified => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "only InterNetwork (IPv4) and InterNetworkV6 (IPv6) are supported"),
    };

    /// <summary>
    /// Writes <paramref name="address"/>:<paramref name="port"/> into <paramref name="dest"/> (at
    /// least <see cref="In6Size"/> bytes); returns the length written. Allocates nothing.
    /// </summary>
    internal static int Write(IPAddress address, int port, byte* dest)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var span = new Span<byte>(dest, InSize);
            span.Clear();
            WriteFamily(dest, AfInet, InSize);
            BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)port);
            address.TryWriteBytes(span.Slice(4, 4), out _);
            return InSize;
        }
        else
        {
            var span = new Span<byte>(dest, In6Size);
            span.Clear();
            WriteFamily(dest, AfInet6, In6Size);
            BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)port);
            address.TryWriteBytes(span.Slice(8, 16), out _);
            *(uint*)(dest + 24) = (uint)address.ScopeId;
            return In6Size;
        }
    }

    /// <summary>Writes <paramref name="endPoint"/>; see <see cref="Write(IPAddress, int, byte*)"/>.</summary>
    internal static int Write(IPEndPoint endPoint, byte* dest) => Write(endPoint.Address, endPoint.Port, dest);

    private static void WriteFamily(byte* dest, int family, int length)
    {
        if (s_bsdLayout)
        {
            dest[0] = (byte)length;
            dest[1] = (byte)family;
        }
        else
        {
            *(ushort*)dest = (ushort)family;
        }
    }

    /// <summary>The native family of the sockaddr at <paramref name="addr"/>.</summary>
    internal static int Family(byte* addr) => s_bsdLayout ? addr[1] : *(ushort*)addr;

    /// <summary>The address of a native IPv4 or IPv6 sockaddr; null for another family.</summary>
    internal static IPAddress? ReadAddress(byte* addr)
    {
        int family = Family(addr);
        if (family == AfInet) return new IPAddress(new ReadOnlySpan<byte>(addr + 4, 4));
        if (family == AfInet6) return new IPAddress(new ReadOnlySpan<byte>(addr + 8, 16), *(uint*)(addr + 24));
        return null;
    }

    /// <summary>
    /// True when <paramref name="endPoint"/> (as it is now: IPEndPoint is mutable) is the native
    /// sockaddr at <paramref name="addr"/>. Allocates nothing.
    /// </summary>
    internal static bool Matches(IPEndPoint endPoint, byte* addr)
    {
        int family = Family(addr);
        var address = endPoint.Address;
        if (endPoint.Port != BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(addr + 2, 2))) return false;
        Span<byte> bytes = stackalloc byte[16];
        if (family == AfInet)
        {
            return address.AddressFamily == AddressFamily.InterNetwork && address.TryWriteBytes(bytes, out int n) && n == 4 &&
                bytes[..4].SequenceEqual(new ReadOnlySpan<byte>(addr + 4, 4));
        }
        return family == AfInet6 && address.AddressFamily == AddressFamily.InterNetworkV6 && address.TryWriteBytes(bytes, out int m) && m == 16 &&
            bytes.SequenceEqual(new ReadOnlySpan<byte>(addr + 8, 16)) && address.ScopeId == *(uint*)(addr + 24);
    }

    /// <summary>The endpoint of a native IPv4 or IPv6 sockaddr; null for another family.</summary>
    internal static IPEndPoint? ReadEndPoint(byte* addr)
    {
        var address = ReadAddress(addr);
        return address is null ? null : new IPEndPoint(address, BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(addr + 2, 2)));
    }
}
