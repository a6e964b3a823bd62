namespace Evergreen.IO.Http;

/// <summary>
/// Where a connection goes: scheme (TLS or not), host and port. An <see cref="HttpSession"/>
/// keeps one pool per origin. The host is the URL's ASCII (IDN) form, lowercased by <see cref="Uri"/>,
/// without IPv6 brackets (what a connect takes).
/// </summary>
internal readonly record struct HttpOrigin(bool Tls, string Host, int Port)
{
    /// <summary>The origin of an absolute http or https URL.</summary>
    public static HttpOrigin Of(Uri url) => new(url.Scheme == Uri.UriSchemeHttps, url.IdnHost, url.Port);

    /// <summary>The <c>Host</c> header's value for this origin: the host, bracketed if IPv6, and a non-default port.</summary>
    public string HostHeader
    {
        get
        {
            string host = Host.Contains(':') ? $"[{Host}]" : Host;
            return Port == (Tls ? 443 : 80) ? host : $"{host}:{Port}";
        }
    }

    /// <summary><c>https://host:port</c>, for diagnostics.</summary>
    public override string ToString() => $"{(Tls ? "https" : "http")}://{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port}";
}
