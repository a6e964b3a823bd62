using System.Net;

namespace Evergreen.Native;

/// <summary>
/// Reads the native <c>struct addrinfo</c> list that getaddrinfo returns. The first five fields
/// (flags, family, socktype, protocol, addrlen) are the same everywhere; after them Linux (glibc,
/// musl) puts <c>ai_addr</c> at 24 and <c>ai_canonname</c> at 32, while macOS, the BSDs and
/// Windows put <c>ai_canonname</c> at 24 and <c>ai_addr</c> at 32; <c>ai_next</c> is at 40.
/// </summary>
internal static unsafe class AddrInfo
{
    /// <summary><c>sizeof(struct addrinfo)</c> on 64-bit platforms.</summary>
    internal const int Size = 48;

    internal const int FamilyOffset = 4, SockTypeOffset = 8, AddrLenOffset = 16, NextOffset = 40;

    internal static readonly int AddrOffset = OperatingSystem.IsLinux() ? 24 : 32;

    internal static readonly int CanonNameOffset = OperatingSystem.IsLinux() ? 32 : 24;

    /// <summary><c>SOCK_STREAM</c> (1 on Linux and macOS): asked for so each address comes once, not once per socket type.</summary>
    internal const int SockStream = 1;

    /// <summary>Fills the hints: <paramref name="nativeFamily"/> (0 for any) and stream sockets; every other field zero.</summary>
    internal static void WriteHints(byte* hints, int nativeFamily)
    {
        new Span<byte>(hints, Size).Clear();
        *(int*)(hints + FamilyOffset) = nativeFamily;
        *(int*)(hints + SockTypeOffset) = SockStream;
    }

    /// <summary>The IPv4 and IPv6 addresses of the list, in its order, each once.</summary>
    internal static IPAddress[] ReadAddresses(IntPtr list)
    {
        var addresses = new List<IPAddress>(4);
        for (byte* ai = (byte*)list; ai != null; ai = *(byte**)(ai + NextOffset))
        {
            byte* addr = *(byte**)(ai + AddrOffset);
            if (addr == null || *(uint*)(ai + AddrLenOffset) < SockAddr.InSize) continue;
            if (SockAddr.ReadAddress(addr) is { } address && !addresses.Contains(address)) addresses.Add(address);
        }
        return addresses.ToArray();
    }
}
