using System.Net;
using System.Net.Sockets;

namespace Evergreen.Native;

/// <summary>
/// Converts between <see cref="IPEndPoint"/> and the native <c>struct sockaddr</c> libuv takes
/// and returns. .NET's <see cref="SocketAddress"/> already holds the platform's native layout, so
/// the bytes are copied as they are; only the family has to be read by hand (Linux keeps it in
/// the first two bytes, the BSDs and macOS in the second byte, after <c>sa_len</c>).
/// </summary>
internal static unsafe class SockAddr
{
    /// <summary>Room for any address libuv hands us (<c>sizeof(struct sockaddr_storage)</c>).</summary>
    internal const int StorageSize = 128;

    private static readonly int s_afInet6 = OperatingSystem.IsLinux() ? 10 : OperatingSystem.IsWindows() ? 23 : 30;

    /// <summary>Writes <paramref name="endPoint"/> as a native sockaddr into <paramref name="dest"/> (at least <see cref="StorageSize"/> bytes); returns its length.</summary>
    internal static int Write(IPEndPoint endPoint, byte* dest)
    {
        var address = endPoint.Serialize();
        var bytes = address.Buffer.Span[..address.Size];
        bytes.CopyTo(new Span<byte>(dest, StorageSize));
        return bytes.Length;
    }

    /// <summary>Reads a native sockaddr; null for a family other than IPv4 and IPv6.</summary>
    internal static IPEndPoint? Read(byte* addr)
    {
        int family = OperatingSystem.IsLinux() || OperatingSystem.IsWindows() ? *(ushort*)addr : addr[1];
        AddressFamily af;
        int size;
        if (family == 2)
        {
            af = AddressFamily.InterNetwork;
            size = 16;
        }
        else if (family == s_afInet6)
        {
            af = AddressFamily.InterNetworkV6;
            size = 28;
        }
        else
        {
            return null;
        }
        var address = new SocketAddress(af, size);
        new ReadOnlySpan<byte>(addr, size).CopyTo(address.Buffer.Span);
        return (IPEndPoint)new IPEndPoint(af == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0).Create(address);
    }

    /// <summary>"127.0.0.1:80", "[::1]:80": how messages name an endpoint.</summary>
    internal static string Format(IPEndPoint? endPoint) => endPoint?.ToString() ?? "an unknown endpoint";
}
