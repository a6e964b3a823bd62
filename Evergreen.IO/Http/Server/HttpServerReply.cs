// HttpServerReply: the reply a handler writes, streamed to the connection as it goes.
//
// The head goes out with the first bytes of the body (in one write when they fit together), and
// how the body is framed is decided at that moment:
//  - SendAsync, SendTextAsync, RedirectAsync and SendFileAsync know the whole length: Content-Length.
//  - WriteAsync holds its first write back (copied, up to 64 KiB) instead of sending it. If the
//    handler then ends the reply, that write was the whole body and goes out with a
//    Content-Length; if it writes again, the reply turns chunked (HTTP/1.1) or runs until the
//    connection closes (an HTTP/1.0 client does not know chunks).
//  - A Content-Length the handler set itself is used as is, and the body is held to it.
// A HEAD reply goes through the same steps and drops the body, so its head is the GET reply's.
// The connection's write buffer (HttpServerConnection.Out) is empty between calls: nothing of a
// reply waits in it while the handler awaits something else.
using System.Buffers;
using System.Diagnostics;
using System.Text;

namespace Evergreen.IO.Http;

/// <summary>
/// The reply to one <see cref="HttpServerRequest"/>, written by an <see cref="HttpHandler"/>: a status,
/// header fields, and a body sent whole (<see cref="SendAsync"/>, <see cref="SendTextAsync"/>,
/// <see cref="SendFileAsync"/>) or written in pieces (<see cref="WriteAsync"/>, then
/// <see cref="EndAsync"/>). The server adds <c>Date</c>, <c>Server</c>, the body's framing
/// (<c>Content-Length</c> or chunked) and <c>Connection</c>. Loop thread only, from the handler's tasklet.
/// </summary>
[DebuggerDisplay("HttpServerReply {StatusCode}{HeadersSent ? \" (head sent)\" : \"\",nq}{IsEnded ? \" (ended)\" : \"\",nq}")]
public sealed partial class HttpServerReply
{
    /// <summary>The largest first write held back to see whether it is the whole body.</summary>
    internal const int HoldLimit = 64 * 1024;

    /// <summary>Body pieces up to this size are copied next to their head or chunk header and go in one write.</summary>
    internal const int CopyLimit = 16 * 1024;

    private readonly HttpServerConnection _conn;
    private readonly HttpServerRequest? _request;
    private readonly bool _isHead, _http10, _keepAliveAsked;
    private int _statusCode = 200;
    private HttpBodyKind _mode;    // set with the head: Length, Chunked, UntilClose, or None (204, 304)
    private long _length;          // Length: the announced Content-Length
    private long _written;         // body bytes the handler gave (counted for HEAD too)
    private int _held;             // bytes of a first write held back in _conn.Held
    private bool _headersSent, _ended;

    internal HttpServerReply(HttpServerConnection conn, HttpServerRequest? request, bool keepAlive)
    {
        _conn = conn;
        _request = request;
        _isHead = request?.IsHead ?? false;
        _http10 = request?.Version == HttpWire.Http10;
        _keepAliveAsked = keepAlive;
    }

    /// <summary>The status code; 200 unless set. Set it before the head is sent.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not between 200 and 999 (interim 1xx replies are the server's).</exception>
    /// <exception cref="InvalidOperationException">The head was already sent.</exception>
    public int StatusCode
    {
        get => _statusCode;
        set
        {
            if (value is < 200 or > 999) throw new ArgumentOutOfRangeException(nameof(StatusCode), value, "a reply's status code is between 200 and 999");
            if (_headersSent && value != _statusCode)
            {
                throw new InvalidOperationException($"the head of the reply was already sent with status {_statusCode}: the status cannot change to {value}.");
            }
            _statusCode = value;
        }
    }

    /// <summary>
    /// The reply's header fields; change them before the head is sent. <c>Content-Length</c> set
    /// here announces the body's length (the body must then match it); <c>Connection: close</c>
    /// closes the connection after the reply. <c>Transfer-Encoding</c> is the server's to set.
    /// </summary>
    public HttpFields Headers { get; } = new();

    /// <summary>True once the head went out (or started to): the status and headers are final.</summary>
    public bool HeadersSent => _headersSent;

    /// <summary>True once the reply was ended (by a Send method, <see cref="EndAsync"/>, or the server).</summary>
    public bool IsEnded => _ended;

    /// <summary>Whether the connection must close after this reply (asked for, or the framing needs it).</summary>
    internal bool CloseAfter { get; private set; }

    /// <summary>Whether body bytes go on the wire: not for HEAD, nor for 204 and 304.</summary>
    private bool SendsBody => !_isHead && _mode != HttpBodyKind.None;

    private static bool StatusHasBody(int status) => status is not (204 or 304);

    /// <summary>
    /// Writes a piece of the body. The first piece is held back (up to 64 KiB): if the handler
    /// then ends the reply, it was the whole body and is sent with a Content-Length; a second
    /// piece sends the head and both, chunked (to an HTTP/1.0 client: unframed, and the connection
    /// closes after). With <c>Content-Length</c> set in <see cref="Headers"/>, pieces go out as
    /// they come. A HEAD reply drops the bytes. A yield point when it waits for the connection; a
    /// cancelled write leaves the reply cut short, and the connection is closed after it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The reply was ended; more bytes than the Content-Length set; a body on a 204 or 304.</exception>
    /// <exception cref="UvException">The client is gone (the connection just ends).</exception>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data)
    {
        CheckOpen("WriteAsync");
        if (data.IsEmpty) return default;
        if (!_headersSent)
        {
            if (!StatusHasBody(_statusCode)) throw NoBody(_statusCode);
            if (DeclaredLength("WriteAsync") is long declared)
            {
                WriteHead(HttpBodyKind.Length, declared);
            }
            else if (_held == 0 && data.Length <= HoldLimit)
            {
                _conn.Held.Write(data.Span);
                _held = data.Length;
                return default;
            }
            else
            {
                WriteHead(_http10 ? HttpBodyKind.UntilClose : HttpBodyKind.Chunked, 0);
            }
            if (_held > 0) AppendBody(_conn.Held.WrittenSpan);
        }
        if (data.Length <= CopyLimit)
        {
            AppendBody(data.Span);
            return _conn.FlushAsync();
        }
        return WriteLargeAsync(data);
    }

    /// <summary>Sends a piece too big to copy: its framing, then the caller's bytes as they are.</summary>
    private async ValueTask WriteLargeAsync(ReadOnlyMemory<byte> data)
    {
        CountBody(data.Length);
        if (!SendsBody)
        {
            await _conn.FlushAsync();
            return;
        }
        var o = _conn.Out;
        if (_mode == HttpBodyKind.Chunked) o.Advance(HttpWire.WriteChunkHeader(data.Length, o.GetSpan(10)));
        await _conn.FlushAsync();
        await _conn.WriteAsync(data);
        if (_mode == HttpBodyKind.Chunked)
        {
            o.Write(HttpWire.ChunkEnd);
            await _conn.FlushAsync();
        }
    }

    /// <summary>Appends body bytes to the write buffer, framed for the reply's mode.</summary>
    private void AppendBody(ReadOnlySpan<byte> data)
    {
        CountBody(data.Length);
        if (!SendsBody || data.IsEmpty) return;
        var o = _conn.Out;
        if (_mode == HttpBodyKind.Chunked)
        {
            o.Advance(HttpWire.WriteChunkHeader(data.Length, o.GetSpan(10)));
            o.Write(data);
            o.Write(HttpWire.ChunkEnd);
        }
        else
        {
            o.Write(data);
        }
    }

    private void CountBody(int count)
    {
        if (_mode == HttpBodyKind.Length && _written + count > _length)
        {
            throw new InvalidOperationException($"the reply announced Content-Length: {_length} and the handler wrote {_written + count} bytes; a body must match its Content-Length.");
        }
        _written += count;
    }

    /// <summary>
    /// Sends the whole reply: <paramref name="status"/>, <paramref name="body"/> with its
    /// Content-Length, and <paramref name="contentType"/> (empty: no Content-Type). Ends the reply.
    /// A yield point when it waits for the connection; a cancelled call leaves the reply cut short
    /// (the connection is closed after it).
    /// </summary>
    /// <exception cref="InvalidOperationException">Part of the reply was already written, or it was ended; a body on a 204 or 304.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A status outside 200..999.</exception>
    /// <exception cref="UvException">The client is gone.</exception>
    public ValueTask SendAsync(int status, ReadOnlyMemory<byte> body, string contentType)
    {
        ArgumentNullException.ThrowIfNull(contentType);
        CheckFresh("SendAsync");
        StatusCode = status;
        if (!body.IsEmpty && !StatusHasBody(status)) throw NoBody(status);
        if (contentType.Length > 0) Headers.Set("Content-Type", contentType);
        _ended = true;
        WriteHead(HttpBodyKind.Length, body.Length);
        if (body.Length <= CopyLimit)
        {
            AppendBody(body.Span);
            return _conn.FlushAsync();
        }
        return WriteLargeAsync(body);
    }

    /// <summary>
    /// Sends the whole reply with <paramref name="text"/> as its body, encoded as UTF-8 (straight
    /// into the connection's write buffer). Ends the reply. A yield point as <see cref="SendAsync"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Part of the reply was already written, or it was ended; a body on a 204 or 304.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A status outside 200..999.</exception>
    /// <exception cref="UvException">The client is gone.</exception>
    public ValueTask SendTextAsync(int status, string text, string contentType = "text/plain; charset=utf-8")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(contentType);
        int count = Encoding.UTF8.GetByteCount(text);
        if (count > HoldLimit) return SendAsync(status, Encoding.UTF8.GetBytes(text), contentType);
        CheckFresh("SendTextAsync");
        StatusCode = status;
        if (count > 0 && !StatusHasBody(status)) throw NoBody(status);
        if (contentType.Length > 0) Headers.Set("Content-Type", contentType);
        _ended = true;
        WriteHead(HttpBodyKind.Length, count);
        CountBody(count);
        if (SendsBody && count > 0)
        {
            var o = _conn.Out;
            o.Advance(Encoding.UTF8.GetBytes(text, o.GetSpan(count)));
        }
        return _conn.FlushAsync();
    }

    /// <summary>
    /// Sends a redirect to <paramref name="location"/> (absolute, or relative to the request's URL)
    /// with a short text body. Ends the reply. A yield point as <see cref="SendAsync"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="status"/> is not 301, 302, 303, 307 or 308.</exception>
    /// <exception cref="ArgumentException">The location is empty or holds CR, LF or NUL.</exception>
    /// <exception cref="InvalidOperationException">Part of the reply was already written, or it was ended.</exception>
    public ValueTask RedirectAsync(string location, int status = 302)
    {
        ArgumentException.ThrowIfNullOrEmpty(location);
        if (status is not (301 or 302 or 303 or 307 or 308))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "a redirect's status is 301, 302, 303, 307 or 308");
        }
        CheckFresh("RedirectAsync");
        Headers.Set("Location", location);
        return SendTextAsync(status, $"{status} {HttpStatusText.Reason(status)}: {location}\n");
    }

    /// <summary>
    /// Ends the reply: sends the head if it was not sent (with the held-back first write as the
    /// whole body, and its Content-Length), or the last chunk of a chunked body. The server calls
    /// it after the handler if the handler did not; ending twice does nothing. A yield point when
    /// it waits for the connection.
    /// </summary>
    /// <exception cref="InvalidOperationException">The body is shorter or longer than the Content-Length set in <see cref="Headers"/> (the connection is closed after the reply).</exception>
    /// <exception cref="UvException">The client is gone.</exception>
    public ValueTask EndAsync()
    {
        if (_ended) return default;
        _ended = true;
        if (!_headersSent)
        {
            long length = _held;
            if (DeclaredLength("EndAsync") is long declared)
            {
                if (declared != _held && !_isHead)
                {
                    throw new InvalidOperationException($"the reply announced Content-Length: {declared} and the handler wrote {_held} bytes; a body must match its Content-Length.");
                }
                length = declared;
            }
            WriteHead(HttpBodyKind.Length, length);
            if (_held > 0) AppendBody(_conn.Held.WrittenSpan);
            return _conn.FlushAsync();
        }
        if (_mode == HttpBodyKind.Chunked && SendsBody)
        {
            _conn.Out.Write(HttpWire.LastChunk);
        }
        else if (_mode == HttpBodyKind.Length && _written < _length && !_isHead)
        {
            CloseAfter = true; // the client waits for bytes that never come: only a close ends its wait
            throw new InvalidOperationException($"the reply announced Content-Length: {_length} but the handler wrote only {_written} bytes; the connection is closed.");
        }
        return _conn.FlushAsync();
    }

    private void CheckOpen(string member)
    {
        if (_ended) throw new InvalidOperationException($"{member}: the reply was already ended (by a Send method, EndAsync, or the server once the handler returned); a reply is written once.");
    }

    private void CheckFresh(string member)
    {
        CheckOpen(member);
        if (_headersSent || _held > 0)
        {
            throw new InvalidOperationException($"{member} sends a whole reply, but WriteAsync already wrote part of this one; end it with EndAsync instead.");
        }
    }

    private static InvalidOperationException NoBody(int status) =>
        new($"a {status} reply has no body (RFC 9110 §15): send it with an empty body.");

    /// <summary>The Content-Length the handler set in <see cref="Headers"/>, or null.</summary>
    private long? DeclaredLength(string member)
    {
        if (Headers.Count == 0 || Headers.Get("Content-Length") is not { } text) return null;
        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long length))
        {
            throw new InvalidOperationException($"{member}: the reply's Content-Length \"{text}\" is not a number of bytes.");
        }
        return length;
    }

    /// <summary>What the reply is, for messages.</summary>
    public override string ToString() => $"the {_statusCode} reply to {(_request is null ? "a malformed request" : _request.ToString())}";
}
