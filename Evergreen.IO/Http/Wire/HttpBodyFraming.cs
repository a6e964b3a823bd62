namespace Evergreen.IO.Http;

/// <summary>How a message body is delimited (RFC 9112 §6.3).</summary>
internal enum HttpBodyKind
{
    /// <summary>No body (HEAD, 1xx, 204, 304, a request without Content-Length).</summary>
    None,

    /// <summary>Exactly <see cref="HttpBodyFraming.Length"/> bytes.</summary>
    Length,

    /// <summary>Chunked transfer coding.</summary>
    Chunked,

    /// <summary>Everything until the connection closes (a response without length).</summary>
    UntilClose,
}

/// <summary>How a message body is delimited, and its length for <see cref="HttpBodyKind.Length"/>.</summary>
internal readonly record struct HttpBodyFraming(HttpBodyKind Kind, long Length = 0)
{
    public static HttpBodyFraming None => new(HttpBodyKind.None);
}

/// <summary>The limits a message head is read under.</summary>
internal readonly record struct HttpHeadLimits(int MaxLineBytes = 8192, int MaxHeadBytes = 65536, int MaxHeaderCount = 100)
{
    /// <summary>
    /// The default limits. Without this, <c>new HttpHeadLimits()</c> would be the struct's zero
    /// value (every limit 0, so every head "too long"), not the primary constructor's defaults.
    /// </summary>
    public HttpHeadLimits() : this(8192, 65536, 100) { }
}
