using System.Buffers;
using System.Diagnostics;

namespace Evergreen.IO.Http;

/// <summary>
/// One pooled HTTP/1.1 connection of an <see cref="HttpSession"/>: the stream (TCP or TLS over
/// TCP), and what each exchange on it reuses: the request head buffer and the body reader. It is
/// used by one request at a time, and belongs either to its pool's idle list or to the request
/// (or streamed response) using it. A handle (its stream is).
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
internal sealed class HttpSessionConnection
{
    public HttpSessionConnection(HttpOriginPool pool, IOStream stream)
    {
        Pool = pool;
        Stream = stream;
    }

    /// <summary>The pool the connection counts against.</summary>
    public HttpOriginPool Pool { get; }

    /// <summary>The connection's stream.</summary>
    public IOStream Stream { get; }

    /// <summary>The request head is written here, reused request after request.</summary>
    public ArrayBufferWriter<byte> RequestHead { get; } = new(512);

    /// <summary>The response body reader, reused response after response.</summary>
    public HttpBodyReader Body { get; } = new();

    /// <summary>How many responses the connection has carried; more than 0 means a request on it reuses it.</summary>
    public int Exchanges { get; set; }

    /// <summary>When it was put back into the idle list (the loop's clock, EventLoop.Time).</summary>
    public TimeSpan IdleSince { get; set; }

    /// <summary>
    /// Whether an idle connection can carry another request: open, the server has not closed it
    /// (the stream reads on while idle, so an EOF is seen), and it sent nothing unasked.
    /// </summary>
    public bool CanReuse => !Stream.IsClosed && !Stream.HasEnded && Stream.Available == 0
        && (Stream is not TlsStream tls || !tls.InnerStream.HasEnded); // TLS reads only when asked; TCP under it reads on

    /// <summary>Closes the stream now (not a yield point); the handle is released by the loop.</summary>
    public void Close() => Stream.Close();

    public override string ToString() => $"HTTP connection {Pool.Origin} ({Exchanges} exchanges){(Stream.IsClosed ? " closed" : "")}";
}
