// Interim resolver (replaced by the uv_getaddrinfo one): names through System.Net.Dns, awaited
// as a foreign task from the tasklet.

using System.Net;
using System.Net.Sockets;

namespace Evergreen.IO;

/// <summary>Resolves host names for tasklets.</summary>
public static class Resolver
{
    /// <summary>The addresses of <paramref name="host"/>, optionally of one family only.</summary>
    public static async ValueTask<IPAddress[]> ResolveAsync(string host, AddressFamily? family = null)
    {
        var all = await Dns.GetHostAddressesAsync(host, family ?? AddressFamily.Unspecified);
        return all;
    }
}
