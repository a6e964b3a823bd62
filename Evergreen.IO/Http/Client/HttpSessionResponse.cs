using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Evergreen.IO.Http;

/// <summary>
/// The response to an <see cref="HttpSession"/> call: status, headers, the final URL after
/// redirects, and the body, decoded (gzip, deflate, br). From a buffered call (the default) the
/// body is already read: <see cref="Body"/> and <see cref="Text"/>. From a streamed call
/// (<c>streamBody: true</c>) read <see cref="BodyStream"/> or <see cref="ReadBodyAsync"/>, then
/// dispose it: a body read to its end has given its connection back to the pool, an unread one
/// closes it. Loop thread only.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed partial class HttpSessionResponse : IAsyncDisposable
{
    private readonly HttpHead _head;
    private string? _mediaType, _charset;
    private bool _contentTypeParsed;
    private string? _text;

    internal HttpSessionResponse(HttpSessionConnection connection, HttpHead head, string method, Uri url, long maxBodyBytes, bool decompress, bool keepAlive)
    {
        _connection = connection;
        _head = head;
        Method = method;
        Url = url;
        _maxBodyBytes = maxBodyBytes;
        _keepAlive = keepAlive;
        _coding = decompress ? CodingOf(head.Fields.Get("Content-Encoding")) : Coding.Identity;
    }

    /// <summary>The status code, such as 200 or 404.</summary>
    public int StatusCode => _head.StatusCode;

    /// <summary>The reason phrase the server sent (may be empty).</summary>
    public string ReasonPhrase => _head.Reason;

    /// <summary>The protocol version of the response: <c>HTTP/1.1</c> or <c>HTTP/1.0</c>.</summary>
    public string Version => _head.Version;

    /// <summary>The response's header fields as the server sent them (Content-Encoding and Content-Length describe the body on the wire).</summary>
    public HttpFields Headers => _head.Fields;

    /// <summary>The URL that gave this response: the one called, or the last redirect's target.</summary>
    public Uri Url { get; }

    /// <summary>The URLs that answered with a redirect on the way here, in order (empty when none).</summary>
    public IReadOnlyList<Uri> RedirectChain { get; internal set; } = Array.Empty<Uri>();

    /// <summary>The method of the request that gave this response (GET after a 303, say).</summary>
    public string Method { get; }

    /// <summary>True for a 2xx status.</summary>
    public bool IsSuccess => StatusCode is >= 200 and < 300;

    /// <summary>The media type of <c>Content-Type</c>, lowercased and without parameters (<c>text/html</c>), or null.</summary>
    public string? ContentType
    {
        get
        {
            ParseContentType();
            return _mediaType;
        }
    }

    /// <summary>The <c>charset</c> parameter of <c>Content-Type</c> as sent (<c>utf-8</c>), or null.</summary>
    public string? Charset
    {
        get
        {
            ParseContentType();
            return _charset;
        }
    }

    private void ParseContentType()
    {
        if (_contentTypeParsed) return;
        (_mediaType, _charset) = HttpMediaType.Parse(Headers.Get("Content-Type"));
        _contentTypeParsed = true;
    }

    /// <summary>
    /// The body, decoded. Empty for HEAD, 204 and 304. From a streamed call it is there once
    /// <see cref="ReadBodyAsync"/> has read it.
    /// </summary>
    /// <exception cref="InvalidOperationException">A streamed body not read with <see cref="ReadBodyAsync"/>.</exception>
    public ReadOnlyMemory<byte> Body => _bodyRead
        ? _body
        : throw new InvalidOperationException($"the body of {this} is streamed: read it from BodyStream, or await ReadBodyAsync() before using Body.");

    /// <summary>
    /// <see cref="Body"/> as text, by the charset of <c>Content-Type</c> (a byte order mark wins;
    /// UTF-8 when there is none or it is unknown). Decoded once.
    /// </summary>
    /// <exception cref="InvalidOperationException">A streamed body not read with <see cref="ReadBodyAsync"/>.</exception>
    public string Text => _text ??= HttpMediaType.Decode(Body.Span, Charset);

    /// <summary>
    /// The decoded body as a read-only <see cref="Stream"/>. From a streamed call it reads from the
    /// connection (its async reads park the tasklet; the synchronous ones would block the loop and
    /// throw); read to its end, it gives the connection back to the pool. From a buffered call, or
    /// once the body was read, a stream over <see cref="Body"/>. The same stream each time.
    /// </summary>
    public Stream BodyStream
    {
        get
        {
            if (_bodyStream is not null) return _bodyStream;
            if (!_bodyRead) return _bodyStream = new HttpBodyStream(this);
            var array = MemoryMarshal.TryGetArray(_body, out var segment) ? segment : new ArraySegment<byte>(_body.ToArray());
            return _bodyStream = new MemoryStream(array.Array!, array.Offset, array.Count, writable: false);
        }
    }

    /// <summary>The response line, for diagnostics.</summary>
    public override string ToString() => $"{Method} {Url.AbsoluteUri}: {StatusCode} {ReasonPhrase}";
}
