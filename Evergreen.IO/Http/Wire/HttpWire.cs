// HttpWire: the HTTP/1.1 message syntax (RFC 9112) shared by Evergreen's client and server.
//
// Heads are parsed in place, in the stream's own read buffer: the parser waits (a park) until a
// whole line is buffered, turns it into strings and skips it. No intermediate byte[] per line,
// well-known header names and versions come from a table instead of a fresh string, and a head
// that arrived in one read is parsed without suspending at all.
//
// Every limit is checked before the bytes that pass it are waited for, so a peer that sends an
// endless line or an endless head costs at most the limit in memory: the parser stops with a
// MalformedHttpException naming the violation (the server maps it to 400/414/431, the client
// discards the connection). A stream that ends before the first byte of a head is not an error
// (a keep-alive peer left): the reader returns null.
using System.Buffers;
using System.Text;
using System.Runtime.CompilerServices;

namespace Evergreen.IO.Http;

/// <summary>Reads and writes HTTP/1.1 message heads and framing.</summary>
internal static partial class HttpWire
{
    private static readonly ReadOnlyMemory<byte> s_lf = "\n"u8.ToArray();

    /// <summary>The end of a chunk's data.</summary>
    public static ReadOnlySpan<byte> ChunkEnd => "\r\n"u8;

    /// <summary>The last chunk of a chunked body, with no trailers.</summary>
    public static ReadOnlySpan<byte> LastChunk => "0\r\n\r\n"u8;

    /// <summary>
    /// Reads a response's status line and header fields. Null when the stream ends cleanly before
    /// the first byte (a pooled connection the server closed). A yield point; a cancelled call
    /// leaves the stream mid-head (discard the connection).
    /// </summary>
    /// <exception cref="MalformedHttpException">The head breaks the syntax or a limit.</exception>
    public static ValueTask<HttpHead?> ReadResponseHeadAsync(IOStream stream, HttpHeadLimits limits, string peer) =>
        ReadHeadAsync(stream, limits, peer, request: false);

    /// <summary>
    /// Reads a request line and header fields. Null when the stream ends cleanly before the
    /// first byte (a keep-alive client left). Empty lines before the request line are skipped
    /// (RFC 9112 §2.2). A yield point.
    /// </summary>
    /// <exception cref="MalformedHttpException">The head breaks the syntax or a limit.</exception>
    public static ValueTask<HttpHead?> ReadRequestHeadAsync(IOStream stream, HttpHeadLimits limits, string peer) =>
        ReadHeadAsync(stream, limits, peer, request: true);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<HttpHead?> ReadHeadAsync(IOStream stream, HttpHeadLimits limits, string peer, bool request)
    {
        int total = 0;
        int length;
        int skippedEmpty = 0;
        while (true)
        {
            length = await FindLineAsync(stream, limits.MaxLineBytes, limits.MaxHeadBytes, total, peer, request, firstLine: true);
            if (length == -1) return null;
            if (!request || !IsEmptyLine(stream.Buffered[..length]) || ++skippedEmpty > 4) break;
            stream.Skip(length);
            total += length;
        }

        var fields = new HttpFields();
        HttpHead head;
        var line = TrimLineEnd(stream.Buffered[..length]);
        if (request)
        {
            ParseRequestLine(line, peer, out var method, out var target, out var version);
            stream.Skip(length);
            total += length;
            int bytes = await ReadFieldsAsync(stream, fields, limits, total, peer, request);
            head = new HttpHead { Method = method, Target = target, Version = version, Fields = fields, Bytes = bytes };
        }
        else
        {
            ParseStatusLine(line, peer, out var version, out int status, out var reason);
            stream.Skip(length);
            total += length;
            int bytes = await ReadFieldsAsync(stream, fields, limits, total, peer, request);
            head = new HttpHead { Version = version, StatusCode = status, Reason = reason, Fields = fields, Bytes = bytes };
        }
        head.KeepAlive = head.Version == Http11
            ? !fields.HasToken("Connection", "close")
            : fields.HasToken("Connection", "keep-alive");
        return head;
    }

    /// <summary>Reads header lines up to the empty line; returns the head's total size.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ReadFieldsAsync(IOStream stream, HttpFields fields, HttpHeadLimits limits, int total, string peer, bool request)
    {
        while (true)
        {
            int length = await FindLineAsync(stream, limits.MaxLineBytes, limits.MaxHeadBytes, total, peer, request, firstLine: false);
            if (length == -1)
            {
                throw new MalformedHttpException(HttpViolation.HeadTooShort, $"the connection closed inside the message head, after {total} bytes", peer, request);
            }
            var line = TrimLineEnd(stream.Buffered[..length]);
            total += length;
            if (line.IsEmpty)
            {
                stream.Skip(length);
                return total;
            }
            if (line[0] is (byte)' ' or (byte)'\t')
            {
                // Obsolete line folding (RFC 9112 §5.2): a server must reject it, a client may unfold it.
                if (request || fields.Count == 0) throw BadHeader(line, "a folded (continuation) header line", peer, request);
                fields.AppendToLast(Latin1(line.Trim(" \t"u8)));
                stream.Skip(length);
                continue;
            }
            if (fields.Count == limits.MaxHeaderCount)
            {
                throw new MalformedHttpException(HttpViolation.TooManyHeaders, $"more than {limits.MaxHeaderCount} header fields", peer, request);
            }
            ParseField(line, peer, request, fields);
            stream.Skip(length);
        }
    }

    /// <summary>
    /// Waits for one whole line within both limits; -1 if the stream ended before any byte of it
    /// (-1 after some bytes of a first line too: the caller checks <see cref="IOStream.Available"/>).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> FindLineAsync(IOStream stream, int maxLine, int maxHead, int total, string peer, bool request, bool firstLine)
    {
        int headLeft = maxHead - total;
        int max = Math.Min(maxLine, headLeft);
        if (max <= 0) throw HeadTooLong(maxHead, peer, request);
        int length = await stream.FindInBufferAsync(s_lf, max, "HTTP head");
        if (length == -2)
        {
            if (maxLine <= headLeft)
            {
                string what = firstLine ? (request ? "the request line" : "the status line") : "a header line";
                throw new MalformedHttpException(HttpViolation.LineTooLong, $"{what} is longer than {maxLine} bytes", peer, request) { InStartLine = firstLine };
            }
            throw HeadTooLong(maxHead, peer, request);
        }
        if (length == -1 && stream.Available > 0)
        {
            if (firstLine)
            {
                throw new MalformedHttpException(request ? HttpViolation.BadRequestLine : HttpViolation.BadStatusLine,
                    $"bad {(request ? "request" : "status")} line \"{Shown(stream.Buffered)}\" (the connection closed after {stream.Available} bytes, before a line end)", peer, request);
            }
            throw new MalformedHttpException(HttpViolation.HeadTooShort, $"the connection closed inside the message head, after {total + stream.Available} bytes", peer, request);
        }
        return length;
    }

    private static MalformedHttpException HeadTooLong(int maxHead, string peer, bool request) =>
        new(HttpViolation.HeaderSectionTooLong, $"the message head is longer than {maxHead} bytes", peer, request);

    private static bool IsEmptyLine(ReadOnlySpan<byte> line) => TrimLineEnd(line).IsEmpty;

    private static ReadOnlySpan<byte> TrimLineEnd(ReadOnlySpan<byte> line)
    {
        int n = line.Length;
        if (n > 0 && line[n - 1] == (byte)'\n') n--;
        if (n > 0 && line[n - 1] == (byte)'\r') n--;
        return line[..n];
    }

    private static string Latin1(ReadOnlySpan<byte> bytes) => bytes.IsEmpty ? "" : Encoding.Latin1.GetString(bytes);

    /// <summary>A line for an error message: Latin-1, control characters escaped, cut at 80 chars.</summary>
    internal static string Shown(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder();
        foreach (byte b in bytes[..Math.Min(bytes.Length, 80)])
        {
            if (b is >= 0x20 and < 0x7f && b != (byte)'"') text.Append((char)b);
            else text.Append($"\\x{b:x2}");
        }
        if (bytes.Length > 80) text.Append("...");
        return text.ToString();
    }

    /// <summary>Appends <paramref name="text"/> as Latin-1 (headers are ASCII in practice).</summary>
    public static void WriteAscii(string text, ArrayBufferWriter<byte> into)
    {
        var span = into.GetSpan(text.Length);
        int n = Encoding.Latin1.GetBytes(text, span);
        into.Advance(n);
    }

    /// <summary>Appends <c>Name: value\r\n</c> for each field.</summary>
    public static void WriteFields(HttpFields fields, ArrayBufferWriter<byte> into)
    {
        for (int i = 0; i < fields.Count; i++)
        {
            string name = fields.NameAt(i), value = fields.ValueAt(i);
            var span = into.GetSpan(name.Length + value.Length + 4);
            int n = Encoding.Latin1.GetBytes(name, span);
            span[n++] = (byte)':';
            span[n++] = (byte)' ';
            n += Encoding.Latin1.GetBytes(value, span[n..]);
            span[n++] = (byte)'\r';
            span[n++] = (byte)'\n';
            into.Advance(n);
        }
    }

    /// <summary>Writes a chunk header (<c>1a2f\r\n</c>) for <paramref name="length"/> bytes; returns its size (at most 10).</summary>
    public static int WriteChunkHeader(int length, Span<byte> into)
    {
        if (length <= 0) throw new ArgumentOutOfRangeException(nameof(length), length, "a chunk has at least one byte (the last chunk is written as LastChunk)");
        length.TryFormat(into, out int n, "x");
        into[n++] = (byte)'\r';
        into[n++] = (byte)'\n';
        return n;
    }
}
