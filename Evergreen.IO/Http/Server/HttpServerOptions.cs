using System.Diagnostics;

namespace Evergreen.IO.Http;

/// <summary>
/// The limits and timeouts of an <see cref="HttpServer"/>. Read when a connection starts a new
/// request, so a change reaches the next request; set them before <see cref="HttpServer.Listen"/>.
/// </summary>
[DebuggerDisplay("MaxBodyBytes {MaxBodyBytes}, KeepAliveTimeout {KeepAliveTimeout}")]
public sealed class HttpServerOptions
{
    private int _maxRequestLineBytes = 8192;
    private int _maxHeadBytes = 64 * 1024;
    private int _maxHeaderCount = 100;
    private long _maxBodyBytes = 1024 * 1024;
    private long _maxBodyBytesInFlight = 64 * 1024 * 1024;
    private TimeSpan _sendTimeout = TimeSpan.FromSeconds(60);
    private TimeSpan _keepAliveTimeout = TimeSpan.FromSeconds(5);
    private TimeSpan _requestHeadTimeout = TimeSpan.FromSeconds(10);
    private string _serverName = "Evergreen";

    /// <summary>
    /// The longest request line (and header line), in bytes, line end included. Default 8 KiB. A
    /// longer request line is answered 414 (URI Too Long), a longer header line 431.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 64.</exception>
    public int MaxRequestLineBytes
    {
        get => _maxRequestLineBytes;
        set => _maxRequestLineBytes = AtLeast(value, 64, nameof(MaxRequestLineBytes));
    }

    /// <summary>The largest request head (request line and header fields), in bytes. Default 64 KiB; past it: 431.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 64.</exception>
    public int MaxHeadBytes
    {
        get => _maxHeadBytes;
        set => _maxHeadBytes = AtLeast(value, 64, nameof(MaxHeadBytes));
    }

    /// <summary>The most header fields a request may have. Default 100; past it: 431.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxHeaderCount
    {
        get => _maxHeaderCount;
        set => _maxHeaderCount = AtLeast(value, 1, nameof(MaxHeaderCount));
    }

    /// <summary>
    /// The largest request body, in bytes (the whole body is read before the handler runs, into a
    /// buffer that grows as the bytes arrive). Default 1 MiB. A larger <c>Content-Length</c> is
    /// answered 413 before a byte of the body is read; a chunked body whose next chunk would take
    /// it past the limit, 413 as soon as that chunk's size line arrives.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative, or over <see cref="Array.MaxLength"/>.</exception>
    public long MaxBodyBytes
    {
        get => _maxBodyBytes;
        set
        {
            if (value < 0 || value > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(MaxBodyBytes), value, $"MaxBodyBytes must be between 0 and {Array.MaxLength}");
            _maxBodyBytes = value;
        }
    }

    /// <summary>
    /// The most bytes of request bodies the whole server holds at once, across all connections:
    /// a body's buffer counts from its first byte until its handler returns. Default 64 MiB. A
    /// request whose body would take the total past it is answered 503 (Service Unavailable, with
    /// <c>Retry-After</c>) at once and its connection closed, as an overloaded proxy does; bodies
    /// already held are not affected, and the budget frees as their handlers return. Waiting for
    /// room instead would let a few slow uploads hold the rest up, each keeping half a body.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public long MaxBodyBytesInFlight
    {
        get => _maxBodyBytesInFlight;
        set
        {
            if (value < 0) throw new ArgumentOutOfRangeException(nameof(MaxBodyBytesInFlight), value, "MaxBodyBytesInFlight cannot be negative");
            _maxBodyBytesInFlight = value;
        }
    }

    /// <summary>
    /// How long a reply may make no progress: a write to the client that the kernel does not take
    /// within it (the client does not read, its window stays shut) closes the connection, and the
    /// handler's write throws an <see cref="IOException"/>. Default 60 s, as nginx's
    /// <c>send_timeout</c>. The time runs per write of at most 64 KiB, not for the whole reply.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public TimeSpan SendTimeout
    {
        get => _sendTimeout;
        set => _sendTimeout = Positive(value, nameof(SendTimeout));
    }

    /// <summary>How long a keep-alive connection may stay idle between requests before the server closes it. Default 5 s.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public TimeSpan KeepAliveTimeout
    {
        get => _keepAliveTimeout;
        set => _keepAliveTimeout = Positive(value, nameof(KeepAliveTimeout));
    }

    /// <summary>
    /// How long a request may take to arrive: from the connection's start (or the first byte of a
    /// later request) to the end of its head, and again for its body. Default 10 s. A request cut
    /// short by it is answered 408 (Request Timeout) and the connection closed; a new connection
    /// that sends nothing in that time is closed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public TimeSpan RequestHeadTimeout
    {
        get => _requestHeadTimeout;
        set => _requestHeadTimeout = Positive(value, nameof(RequestHeadTimeout));
    }

    /// <summary>The value of the <c>Server</c> header of every reply. Default "Evergreen".</summary>
    /// <exception cref="ArgumentException">Empty, or not printable ASCII.</exception>
    public string ServerName
    {
        get => _serverName;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Length == 0 || value.AsSpan().ContainsAnyExceptInRange((char)0x20, (char)0x7e))
            {
                throw new ArgumentException($"the server name \"{value}\" must be non-empty printable ASCII", nameof(ServerName));
            }
            _serverName = value;
        }
    }

    private static int AtLeast(int value, int minimum, string name) =>
        value >= minimum ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least {minimum}");

    private static TimeSpan Positive(TimeSpan value, string name) =>
        value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
}
