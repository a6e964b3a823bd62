using System.Diagnostics;

namespace Evergreen.IO.Http;

/// <summary>
/// An HTTP/1.1 client for tasklets, with a keep-alive connection pool per origin (scheme, host,
/// port). Every call is plain sequential code that parks the calling tasklet while it waits:
/// <code>
/// await using var http = new HttpSession();
/// var page = await http.GetAsync("http://example.com/");
/// Console.WriteLine($"{page.StatusCode} {page.ContentType} {page.Text.Length} chars");
/// </code>
/// GET, HEAD and POST (and any method through <see cref="SendAsync"/>); Content-Length, chunked
/// and close-delimited bodies; gzip, deflate and br decoded; redirects followed; connect,
/// first-byte and total timeouts; a body size limit; https through <see cref="TlsStream"/>.
/// Many tasklets may share one session. A session belongs to the loop of its first request. Dispose
/// it when done: idle pooled connections keep the loop alive until <see cref="HttpSessionOptions.IdleTimeout"/>.
/// </summary>
[DebuggerDisplay("HttpSession: {IdleConnectionCount} idle, {ActiveConnectionCount} active connections")]
public sealed partial class HttpSession : IAsyncDisposable
{
    /// <summary>The codings asked for when <see cref="HttpSessionOptions.AutomaticDecompression"/> is on.</summary>
    internal const string AcceptEncoding = "gzip, deflate, br";

    private readonly Dictionary<HttpOrigin, HttpOriginPool> _pools = new();
    private EventLoop? _loop;
    private bool _disposed;

    /// <summary>Creates a session with <paramref name="options"/> (null: the defaults). Opens nothing yet.</summary>
    public HttpSession(HttpSessionOptions? options = null) => Options = options ?? new HttpSessionOptions();

    /// <summary>The session's settings; changes apply to requests that start after them.</summary>
    public HttpSessionOptions Options { get; }

    /// <summary>Pooled connections waiting for a request, over every origin.</summary>
    public int IdleConnectionCount
    {
        get
        {
            int n = 0;
            foreach (var pool in _pools.Values) n += pool.IdleCount;
            return n;
        }
    }

    /// <summary>Connections in use by a request (or by a streamed response not yet read to its end), or connecting.</summary>
    public int ActiveConnectionCount
    {
        get
        {
            int n = 0;
            foreach (var pool in _pools.Values) n += pool.ActiveCount;
            return n;
        }
    }

    // --- the calls ---------------------------------------------------------------------------------

    /// <summary>
    /// GETs <paramref name="url"/> and reads its body; see <see cref="SendAsync"/> for what it does
    /// and throws. A yield point; a cancelled (killed or timed-out) call leaves no connection behind.
    /// </summary>
    /// <exception cref="UriFormatException"><paramref name="url"/> is not a URL.</exception>
    public ValueTask<HttpSessionResponse> GetAsync(string url, HttpFields? headers = null) =>
        SendCoreAsync("GET", ParseUrl(url), default, null, headers, streamBody: false);

    /// <summary>GETs <paramref name="url"/> and reads its body; see <see cref="SendAsync"/>. A yield point.</summary>
    public ValueTask<HttpSessionResponse> GetAsync(Uri url, HttpFields? headers = null) =>
        SendCoreAsync("GET", url, default, null, headers, streamBody: false);

    /// <summary>
    /// Sends a HEAD request for <paramref name="url"/>: the response has the headers and an empty
    /// body (a Content-Length it announces is not read). See <see cref="SendAsync"/>. A yield point.
    /// </summary>
    /// <exception cref="UriFormatException"><paramref name="url"/> is not a URL.</exception>
    public ValueTask<HttpSessionResponse> HeadAsync(string url, HttpFields? headers = null) =>
        SendCoreAsync("HEAD", ParseUrl(url), default, null, headers, streamBody: false);

    /// <summary>Sends a HEAD request for <paramref name="url"/>; see <see cref="HeadAsync(string, HttpFields?)"/>. A yield point.</summary>
    public ValueTask<HttpSessionResponse> HeadAsync(Uri url, HttpFields? headers = null) =>
        SendCoreAsync("HEAD", url, default, null, headers, streamBody: false);

    /// <summary>
    /// POSTs <paramref name="body"/> (sent with Content-Length and <paramref name="contentType"/>)
    /// to <paramref name="url"/> and reads the response's body. A POST is never retried on a
    /// connection the server closed. A 301, 302 or 303 answer is followed with a GET, a 307 or
    /// 308 with the same POST. See <see cref="SendAsync"/>. A yield point.
    /// </summary>
    /// <exception cref="UriFormatException"><paramref name="url"/> is not a URL.</exception>
    public ValueTask<HttpSessionResponse> PostAsync(string url, ReadOnlyMemory<byte> body, string contentType, HttpFields? headers = null) =>
        PostAsync(ParseUrl(url), body, contentType, headers);

    /// <summary>POSTs <paramref name="body"/> to <paramref name="url"/>; see <see cref="PostAsync(string, ReadOnlyMemory{byte}, string, HttpFields?)"/>. A yield point.</summary>
    public ValueTask<HttpSessionResponse> PostAsync(Uri url, ReadOnlyMemory<byte> body, string contentType, HttpFields? headers = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(contentType);
        if (contentType.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0) throw new ArgumentException("a content type cannot hold CR, LF or NUL", nameof(contentType));
        return SendCoreAsync("POST", url, body, contentType, headers, streamBody: false);
    }

    /// <summary>
    /// Sends <paramref name="method"/> <paramref name="url"/> with <paramref name="body"/> (if not
    /// empty, with Content-Length) and <paramref name="headers"/>, follows redirects, and returns the
    /// final response. Buffered (the default): the body is read, decoded and checked against
    /// <see cref="HttpSessionOptions.MaxBodyBytes"/> before it returns, and the connection is back
    /// in the pool. Streamed (<paramref name="streamBody"/>): it returns after the response head;
    /// read <see cref="HttpSessionResponse.BodyStream"/> or <see cref="HttpSessionResponse.ReadBodyAsync"/> and
    /// dispose the response (a body read to its end gives the connection back to the pool; an
    /// unread one closes it). A response with any status is returned: 4xx and 5xx do not throw.
    /// <para>
    /// A yield point. A call cut short (a kill, a timeout, an error) closes the connection it was
    /// using and leaves nothing else behind; other requests on the session are unaffected. An
    /// idempotent request (not POST or PATCH) whose reused keep-alive connection turns out closed
    /// by the server before any response byte is sent again, once, on a new connection.
    /// </para>
    /// </summary>
    /// <param name="method">The method, such as <c>GET</c> (an HTTP token; sent as given).</param>
    /// <param name="url">An absolute http or https URL.</param>
    /// <param name="body">The request body; empty for none.</param>
    /// <param name="headers">Extra header fields. Host, User-Agent and Accept-Encoding here replace the session's; Content-Length and Transfer-Encoding are not allowed (the session frames the body).</param>
    /// <param name="streamBody">Return after the head and let the caller read the body.</param>
    /// <exception cref="HttpTimeoutException">One of the session's timeouts expired (a deadline of the caller's own surfaces as its <see cref="TimeoutException"/>).</exception>
    /// <exception cref="HttpBodyTooLargeException">A buffered body passed MaxBodyBytes.</exception>
    /// <exception cref="HttpRedirectException">A redirect loop, too many redirects, or a bad Location.</exception>
    /// <exception cref="MalformedHttpException">The response broke HTTP/1.1; the message names the URL.</exception>
    /// <exception cref="UvException">The connection failed (ECONNREFUSED, ECONNRESET, a name that did not resolve...).</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The TLS handshake failed or the certificate is not valid.</exception>
    /// <exception cref="IOException">The server closed the connection without a response.</exception>
    /// <exception cref="ArgumentException">Not an absolute http(s) URL, a bad method, or a forbidden header.</exception>
    /// <exception cref="ObjectDisposedException">The session was disposed.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet, or from another loop than the session's.</exception>
    public ValueTask<HttpSessionResponse> SendAsync(string method, Uri url, ReadOnlyMemory<byte> body = default,
        HttpFields? headers = null, bool streamBody = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        return SendCoreAsync(method, url, body, null, headers, streamBody);
    }

    private static Uri ParseUrl(string url)
    {
        ArgumentException.ThrowIfNullOrEmpty(url);
        return new Uri(url, UriKind.Absolute);
    }

    // --- pools -------------------------------------------------------------------------------------

    /// <summary>The pool of <paramref name="origin"/>, created on first use.</summary>
    private HttpOriginPool PoolFor(HttpOrigin origin)
    {
        if (!_pools.TryGetValue(origin, out var pool))
        {
            pool = new HttpOriginPool(this, _loop!, origin);
            _pools.Add(origin, pool);
        }
        return pool;
    }

    /// <summary>Drops a pool with no connection and no waiter (a crawler meets many origins once).</summary>
    internal void Forget(HttpOriginPool pool)
    {
        if (!_disposed && _pools.TryGetValue(pool.Origin, out var current) && ReferenceEquals(current, pool)) _pools.Remove(pool.Origin);
    }

    /// <summary>Checks the session can take a call now, from this tasklet, and binds it to this loop on first use.</summary>
    private void CheckUsable()
    {
        var loop = Tasklet.RequireCurrent("HttpSession request").Loop!;
        if (_disposed) throw new ObjectDisposedException(nameof(HttpSession), "the HttpSession was disposed; create a new one to make requests.");
        if (_loop is null) _loop = loop;
        else if (!ReferenceEquals(_loop, loop))
        {
            throw new InvalidOperationException("an HttpSession belongs to the loop of its first request: its pooled connections live on that loop. Use one session per loop.");
        }
    }

    /// <summary>
    /// Closes every pooled connection and waits until their handles are released; a request
    /// waiting for a connection then throws <see cref="ObjectDisposedException"/>, and a
    /// connection still in use is closed when its request is done with it. Later calls throw
    /// <see cref="ObjectDisposedException"/>. A yield point when called from a tasklet (it waits
    /// for the handles); disposing twice does nothing.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _loop?.VerifyAccess("HttpSession.DisposeAsync");
        _disposed = true;
        var closing = new List<IOStream>();
        foreach (var pool in _pools.Values) pool.Dispose(closing);
        _pools.Clear();
        if (Tasklet.Current is null) return;
        foreach (var stream in closing) await stream.DisposeAsync();
    }

    /// <inheritdoc/>
    public override string ToString() => $"HttpSession ({_pools.Count} origins, {IdleConnectionCount} idle, {ActiveConnectionCount} active connections)";
}
