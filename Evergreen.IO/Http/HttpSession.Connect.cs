using System.Net.Security;

namespace Evergreen.IO.Http;

public sealed partial class HttpSession
{
    /// <summary>
    /// Opens a connection to the pool's origin in a slot the pool gave (or, for a retry, the slot
    /// of the connection just closed), under the connect timeout: resolve, TCP connect, and for
    /// https the TLS handshake. The slot is given back if it fails.
    /// </summary>
    private async ValueTask<HttpConnection> ConnectAsync(HttpOriginPool pool, string method, Uri url)
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
                        $"{method} {url.AbsoluteUri}: no connection to {pool.Origin} within the {CancelScope.Format(timeout)} connect timeout (ConnectTimeout)", e);
                }
            }
            return new HttpConnection(pool, stream);
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
            return await TlsStream.AuthenticateAsClientAsync(tcp, origin.Host, TlsOptionsFor(origin));
        }
        catch
        {
            tcp.Close();
            throw;
        }
    }

    /// <summary>A copy of <see cref="HttpSessionOptions.Tls"/> for one connection, with TargetHost set to the origin's host.</summary>
    private SslClientAuthenticationOptions TlsOptionsFor(HttpOrigin origin)
    {
        var copy = new SslClientAuthenticationOptions { TargetHost = origin.Host };
        if (Options.Tls is not { } o) return copy;
        copy.AllowRenegotiation = o.AllowRenegotiation;
        copy.AllowTlsResume = o.AllowTlsResume;
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
        {
            copy.AllowRsaPssPadding = o.AllowRsaPssPadding;
            copy.AllowRsaPkcs1Padding = o.AllowRsaPkcs1Padding;
        }
        copy.ApplicationProtocols = o.ApplicationProtocols;
        copy.CertificateChainPolicy = o.CertificateChainPolicy;
        copy.CertificateRevocationCheckMode = o.CertificateRevocationCheckMode;
        copy.CipherSuitesPolicy = o.CipherSuitesPolicy;
        copy.ClientCertificateContext = o.ClientCertificateContext;
        copy.ClientCertificates = o.ClientCertificates;
        copy.EnabledSslProtocols = o.EnabledSslProtocols;
        copy.EncryptionPolicy = o.EncryptionPolicy;
        copy.LocalCertificateSelectionCallback = o.LocalCertificateSelectionCallback;
        copy.RemoteCertificateValidationCallback = o.RemoteCertificateValidationCallback;
        return copy;
    }
}
