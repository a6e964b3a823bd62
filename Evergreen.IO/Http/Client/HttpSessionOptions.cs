using System.Net.Security;

namespace Evergreen.IO.Http;

/// <summary>
/// The settings of an <see cref="HttpSession"/>: pool bounds, timeouts, limits, the
/// <c>User-Agent</c>, decompression and TLS. A session reads them at each request, so a change
/// applies to the requests that start after it. Every setter checks its value.
/// </summary>
public sealed class HttpSessionOptions
{
    private int _maxConnectionsPerOrigin = 6;
    private TimeSpan _idleTimeout = TimeSpan.FromSeconds(15);
    private TimeSpan _connectTimeout = TimeSpan.FromSeconds(10);
    private TimeSpan _firstByteTimeout = TimeSpan.FromSeconds(30);
    private TimeSpan _totalTimeout = TimeSpan.FromSeconds(60);
    private int _maxRedirects = 10;
    private long _maxBodyBytes = 16 * 1024 * 1024;
    private int _maxHeaderLineBytes = 8192;
    private int _maxHeadBytes = 65536;
    private int _maxHeaderCount = 100;
    private string _userAgent = "Evergreen/1.0 (+https://github.com/evergreen-dotnet)";

    /// <summary>
    /// The most connections open at once to one origin (scheme, host, port); a request over the
    /// bound parks, first come first served, until one is free. Default 6; at least 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxConnectionsPerOrigin
    {
        get => _maxConnectionsPerOrigin;
        set => _maxConnectionsPerOrigin = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxConnectionsPerOrigin must be at least 1");
    }

    /// <summary>How long a pooled keep-alive connection may stay unused before it is closed. Default 15 s; positive.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero or negative.</exception>
    public TimeSpan IdleTimeout
    {
        get => _idleTimeout;
        set => _idleTimeout = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "IdleTimeout must be positive");
    }

    /// <summary>
    /// How long opening a connection may take: name resolution, TCP connect and the TLS handshake.
    /// Default 10 s; <see cref="Timeout.InfiniteTimeSpan"/> for no limit. Past it the call throws
    /// <see cref="HttpTimeoutException"/> with <see cref="HttpTimeoutPhase.Connect"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero or negative (other than infinite).</exception>
    public TimeSpan ConnectTimeout
    {
        get => _connectTimeout;
        set => _connectTimeout = CheckTimeout(value, nameof(ConnectTimeout));
    }

    /// <summary>
    /// How long the server may take from the moment the request is sent to the end of the
    /// response head. Default 30 s; <see cref="Timeout.InfiniteTimeSpan"/> for no limit. Past it
    /// the call throws <see cref="HttpTimeoutException"/> with <see cref="HttpTimeoutPhase.FirstByte"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero or negative (other than infinite).</exception>
    public TimeSpan FirstByteTimeout
    {
        get => _firstByteTimeout;
        set => _firstByteTimeout = CheckTimeout(value, nameof(FirstByteTimeout));
    }

    /// <summary>
    /// How long a whole call may take: every redirect, and for a buffered call the body too (a
    /// streamed call is covered up to its response head). Default 60 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> for no limit. Past it the call throws
    /// <see cref="HttpTimeoutException"/> with <see cref="HttpTimeoutPhase.Total"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero or negative (other than infinite).</exception>
    public TimeSpan TotalTimeout
    {
        get => _totalTimeout;
        set => _totalTimeout = CheckTimeout(value, nameof(TotalTimeout));
    }

    /// <summary>
    /// How many redirects (301, 302, 303, 307, 308) a call follows; one more throws
    /// <see cref="HttpRedirectException"/>. 0: redirects are not followed and the 3xx response is
    /// returned. Default 10.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public int MaxRedirects
    {
        get => _maxRedirects;
        set => _maxRedirects = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxRedirects cannot be negative");
    }

    /// <summary>
    /// The largest body a response may have, counted after decompression (and before it: a
    /// compressed body over the limit fails too). Past it the request is aborted with
    /// <see cref="HttpBodyTooLargeException"/> and the connection is closed. A buffered call
    /// fails at once when the Content-Length is over it; a streamed one (<c>streamBody: true</c>)
    /// counts what is read, so the first bytes of a larger body can be read and the response
    /// disposed. Default 16 MiB.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public long MaxBodyBytes
    {
        get => _maxBodyBytes;
        set => _maxBodyBytes = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxBodyBytes cannot be negative");
    }

    /// <summary>The longest status or header line accepted, in bytes. Default 8192; at least 64.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 64.</exception>
    public int MaxHeaderLineBytes
    {
        get => _maxHeaderLineBytes;
        set => _maxHeaderLineBytes = value >= 64 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxHeaderLineBytes must be at least 64");
    }

    /// <summary>The largest response head accepted (status line and all fields), in bytes. Default 65536; at least 64.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 64.</exception>
    public int MaxHeadBytes
    {
        get => _maxHeadBytes;
        set => _maxHeadBytes = value >= 64 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxHeadBytes must be at least 64");
    }

    /// <summary>The most header fields a response may have. Default 100; at least 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxHeaderCount
    {
        get => _maxHeaderCount;
        set => _maxHeaderCount = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxHeaderCount must be at least 1");
    }

    /// <summary>The <c>User-Agent</c> sent with every request (unless the request's own headers set one).</summary>
    /// <exception cref="ArgumentException">Empty, or with a CR, LF or NUL.</exception>
    public string UserAgent
    {
        get => _userAgent;
        set
        {
            ArgumentException.ThrowIfNullOrEmpty(value);
            if (value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0) throw new ArgumentException("a User-Agent cannot hold CR, LF or NUL", nameof(value));
            _userAgent = value;
        }
    }

    /// <summary>
    /// Whether to ask for compressed bodies (<c>Accept-Encoding: gzip, deflate, br</c>) and decode
    /// them, so <see cref="HttpSessionResponse.Body"/> is the decoded body. Default true. The response's
    /// <see cref="HttpSessionResponse.Headers"/> stay as the server sent them.
    /// </summary>
    public bool AutomaticDecompression { get; set; } = true;

    /// <summary>
    /// TLS settings for https origins (protocols, validation, client certificates), or null for
    /// the defaults (the server's certificate is validated for the host name). Each connection
    /// gets a copy with <c>TargetHost</c> set to its origin's host.
    /// </summary>
    public SslClientAuthenticationOptions? Tls { get; set; }

    /// <summary>The limits response heads are read under.</summary>
    internal HttpHeadLimits HeadLimits => new(_maxHeaderLineBytes, _maxHeadBytes, _maxHeaderCount);

    private static TimeSpan CheckTimeout(TimeSpan value, string name) =>
        value > TimeSpan.Zero || value == Timeout.InfiniteTimeSpan
            ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive, or Timeout.InfiniteTimeSpan for no limit");
}
