using System.Buffers;

namespace Evergreen.IO.Http;

// The head of a reply: status line, Date, Server, the handler's fields, then the framing and
// Connection fields the server owns, written into the connection's buffer to go out with the
// first bytes of the body.
public sealed partial class HttpServerReply
{
    /// <summary>Writes the head into the connection's buffer and fixes the body's framing.</summary>
    /// <param name="mode">How the body is framed (None is forced for 204 and 304).</param>
    /// <param name="length">For <see cref="HttpBodyKind.Length"/>: the Content-Length.</param>
    private void WriteHead(HttpBodyKind mode, long length)
    {
        if (!StatusHasBody(_statusCode)) mode = HttpBodyKind.None;
        bool close = !_keepAliveAsked || mode == HttpBodyKind.UntilClose || _conn.Server.IsClosing;
        if (Headers.Count > 0)
        {
            // The framing and the connection's fate are the server's to state: drop the handler's
            // versions (its Content-Length was read already) and honour a Connection: close.
            if (Headers.HasToken("Connection", "close")) close = true;
            Headers.Remove("Connection");
            Headers.Remove("Content-Length");
            Headers.Remove("Transfer-Encoding");
        }
        var o = _conn.Out;
        o.Write(HttpStatusText.StatusLine(_statusCode));
        o.Write(HttpDate.HeaderLine());
        o.Write(_conn.Server.ServerHeaderLine);
        HttpWire.WriteFields(Headers, o);
        if (mode == HttpBodyKind.Length)
        {
            o.Write("Content-Length: "u8);
            var digits = o.GetSpan(20);
            length.TryFormat(digits, out int n);
            o.Advance(n);
            o.Write("\r\n"u8);
        }
        else if (mode == HttpBodyKind.Chunked)
        {
            o.Write("Transfer-Encoding: chunked\r\n"u8);
        }
        if (close) o.Write("Connection: close\r\n\r\n"u8);
        else if (_http10) o.Write("Connection: keep-alive\r\n\r\n"u8);
        else o.Write("\r\n"u8);
        _headersSent = true;
        _mode = mode;
        _length = length;
        CloseAfter |= close;
    }
}
