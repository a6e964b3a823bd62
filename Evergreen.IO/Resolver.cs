// DNS for tasklets: uv_getaddrinfo and uv_getnameinfo, which run the system resolver (the same
// /etc/hosts, nsswitch and DNS configuration every program uses) on libuv's thread pool while the
// tasklet parks. Named Resolver, not Dns: System.Net.Dns is in the usings of most programs.
//
// The mechanics (a pooled ParkedOperation per lookup; an abort that calls uv_cancel and detaches
// it; the native request freed only in its callback) are in Native/DnsRequest.cs.

using System.Net;
using System.Net.Sockets;
using Evergreen.Native;

namespace Evergreen.IO;

/// <summary>
/// Host-name resolution for tasklets (Evergreen's <c>dns</c> helpers; the counterpart of
/// <see cref="Dns"/>): <see cref="ResolveAsync"/> through libuv's <c>uv_getaddrinfo</c> and
/// <see cref="ReverseAsync"/> through <c>uv_getnameinfo</c>. The lookup runs on libuv's thread
/// pool; the calling tasklet parks and the loop serves the others meanwhile.
/// <code>IPAddress[] addresses = await Resolver.ResolveAsync("example.com");</code>
/// </summary>
public static class Resolver
{
    /// <summary>
    /// The addresses of <paramref name="host"/>, in the order the system resolver returns them
    /// (each once), IPv4 and IPv6 unless <paramref name="family"/> asks for one of them. An IP
    /// literal ("127.0.0.1", "::1") is returned at once, without a lookup and without parking,
    /// unless it is of another family than <paramref name="family"/> (then the resolver says no).
    /// Otherwise a yield point: the tasklet parks until the lookup ends. A kill or an expired
    /// <see cref="CancelScope"/> ends the wait at once with <see cref="TaskletExit"/> or
    /// <see cref="TimeoutException"/> and leaves nothing behind: the lookup is cancelled if it has
    /// not started, and otherwise runs to its end on libuv's thread pool with its result dropped
    /// (the loop stays alive until then). The system resolver's own timeouts apply (with an
    /// unreachable DNS server, several seconds); bound the wait with a <see cref="CancelScope"/>.
    /// </summary>
    /// <param name="host">A host name or an IP literal.</param>
    /// <param name="family">
    /// <see cref="AddressFamily.InterNetwork"/> for IPv4 addresses only,
    /// <see cref="AddressFamily.InterNetworkV6"/> for IPv6 only; null (or
    /// <see cref="AddressFamily.Unspecified"/>) for both.
    /// </param>
    /// <returns>The addresses; never empty.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="host"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="host"/> is empty or holds a NUL character.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="family"/> is not IPv4, IPv6 or unspecified.</exception>
    /// <exception cref="UvException">
    /// The name cannot be resolved: libuv's <c>EAI_*</c> name, the host and the reason, such as
    /// <c>EAI_NONAME in getaddrinfo for no.such.host.invalid (unknown node or service)</c>.
    /// </exception>
    /// <exception cref="InvalidOperationException">It must look the name up and this is not a tasklet.</exception>
    /// <exception cref="TaskletExit">The tasklet was killed while waiting.</exception>
    /// <exception cref="TimeoutException">An enclosing <see cref="CancelScope"/> expired while waiting.</exception>
    public static ValueTask<IPAddress[]> ResolveAsync(string host, AddressFamily? family = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        int nativeFamily = SockAddr.NativeFamily(family ?? AddressFamily.Unspecified);
        if (host.Length == 0) throw new ArgumentException("a host name cannot be empty", nameof(host));
        if (host.Contains('\0')) throw new ArgumentException("a host name cannot hold a NUL character", nameof(host));
        if (IPAddress.TryParse(host, out var literal) &&
            (nativeFamily == 0 || SockAddr.NativeFamily(literal.AddressFamily) == nativeFamily))
        {
            return new ValueTask<IPAddress[]>([literal]);
        }
        return GetAddrInfoRequest.Start(host, nativeFamily);
    }

    /// <summary>
    /// The host name of <paramref name="address"/>, as the system's <c>getnameinfo</c> gives it
    /// (from /etc/hosts or reverse DNS; the address itself in text when no name is known). Always
    /// a yield point: the tasklet parks until the lookup ends. A kill or an expired
    /// <see cref="CancelScope"/> ends the wait at once and leaves nothing behind, as for
    /// <see cref="ResolveAsync"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="address"/> is neither IPv4 nor IPv6.</exception>
    /// <exception cref="UvException">The lookup failed: libuv's <c>EAI_*</c> name, the address and the reason.</exception>
    /// <exception cref="InvalidOperationException">This is not a tasklet.</exception>
    /// <exception cref="TaskletExit">The tasklet was killed while waiting.</exception>
    /// <exception cref="TimeoutException">An enclosing <see cref="CancelScope"/> expired while waiting.</exception>
    public static ValueTask<string> ReverseAsync(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentOutOfRangeException(nameof(address), address.AddressFamily, "only IPv4 and IPv6 addresses can be looked up");
        }
        return GetNameInfoRequest.Start(address);
    }
}
