using System.Net.Security;

namespace Evergreen.IO.Http;

public sealed partial class HttpSession
{
    /// <summary>
    /// Opens a connection to the pool's origin in a slot the pool gave (or, for a retry, the slot
    /// of the connection just closed), under the connect timeout: resolve, TCP connect, and for
    /// https the TLS handshake. The slot is given back if it fails.
    /// </summary>
    private async ValueTask<HttpSessionConnection> ConnectAsync(HttpOriginPool pool, string method, Uri url)
    {
        var timeout = Options.ConnectTimeout;
        try
        {
            IOStream stream;
            using (var scope = ScopeFor(timeout))
            {
                try
                {
                    stream = await OpenStreamAsync(pool.Origin);
                }
                catch (Exception e) when (IsExpiryOf(e, scope))
                {
                    throw new HttpTimeoutException(HttpTimeoutPhase.Connect, url,
                        $"{method} {url.AbsoluteUri}: no connection to {pool.Origin} within the {Timeouts.Describe(timeout)} connect timeout (ConnectTimeout)", e);
                }
            }
            return new HttpSessionConnection(pool, stream);
        }
        catch
        {
            pool.ReleaseSlot();
            throw;
        }
    }

    private async ValueTask<IOStream> OpenStreamAsync(HttpOrigin origin)
    {
        var tcp = await TcpStream.ConnectAsync(origin.Host, origin.Port);
        if (!origin.Tls) return tcp;
        try
        {
            // The session's options are shared by every origin: each connection gets a copy naming its own host.
            return await TlsStream.AuthenticateAsClientAsync(tcp, origin.Host, TlsStream.CopyOptions(Options.Tls, origin.Host));
        }
        catch
        {
            tcp.Close();
            throw;
        }
    }
}
