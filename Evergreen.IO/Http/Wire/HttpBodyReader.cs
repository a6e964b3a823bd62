// HttpBodyReader: one message body, read off the connection's IOStream as its framing says.
//
// The reader is the only thing that knows where a body ends, so it is also what tells the
// connection's owner whether the connection can carry another message (IsComplete): a body read
// to its end, chunked trailers included. It never reads past the body, so the next pipelined
// message stays buffered in the stream. Chunk-size lines and trailers are parsed in place in the
// stream's buffer, under the same limits as a head. Reusable: one per connection, Start per body.
//
// A request's chunked framing is read strictly (every line ends CRLF, RFC 9112 §7.1), since a
// proxy in front of the server that reads a bare LF differently would split the stream
// elsewhere; a response's is read leniently. A chunk that would take the body past its limit is
// refused from its size line, before its data is waited for.
using System.Buffers.Text;
using System.Runtime.CompilerServices;

namespace Evergreen.IO.Http;

/// <summary>Reads one HTTP message body (de-chunked, still content-encoded) from a stream.</summary>
internal sealed class HttpBodyReader
{
    private static readonly ReadOnlyMemory<byte> s_lf = "\n"u8.ToArray();

    private IOStream? _stream;
    private HttpBodyFraming _framing;
    private HttpHeadLimits _limits;
    private string? _peer;
    private bool _request;
    private long _maxBody;
    private long _remaining;      // Length: bytes left; Chunked: bytes left in the current chunk
    private bool _chunkEndDue;    // Chunked: the CRLF after a chunk's data is still to be read

    /// <summary>Whether the whole body (and any trailers) was read: the connection may carry another message.</summary>
    public bool IsComplete { get; private set; }

    /// <summary>Body bytes delivered so far (de-chunked, still content-encoded).</summary>
    public long BytesRead { get; private set; }

    /// <summary>The trailer fields of a chunked body, once it is complete (null if none).</summary>
    public HttpFields? Trailers { get; private set; }

    /// <summary>The framing of the body being read.</summary>
    public HttpBodyFraming Framing => _framing;

    /// <summary>Starts reading a body framed as <paramref name="framing"/> from <paramref name="stream"/>.</summary>
    /// <param name="stream">The connection.</param>
    /// <param name="framing">How the body is delimited.</param>
    /// <param name="limits">Limits for chunk-size lines and trailers.</param>
    /// <param name="peer">Where the body comes from, for error messages.</param>
    /// <param name="request">Whether the body is a request's: its chunk lines must end CRLF.</param>
    /// <param name="maxBody">The most body bytes a chunked body may declare; past it, <see cref="InvalidDataException"/>.</param>
    public void Start(IOStream stream, HttpBodyFraming framing, HttpHeadLimits limits, string peer, bool request = false, long maxBody = long.MaxValue)
    {
        _maxBody = maxBody;
        _stream = stream;
        _framing = framing;
        _limits = limits;
        _peer = peer;
        _request = request;
        _remaining = framing.Kind == HttpBodyKind.Length ? framing.Length : 0;
        _chunkEndDue = false;
        BytesRead = 0;
        Trailers = null;
        IsComplete = framing.Kind == HttpBodyKind.None || framing.Kind == HttpBodyKind.Length && framing.Length == 0;
    }

    /// <summary>
    /// Reads body bytes into <paramref name="buffer"/>; 0 at the body's end. A yield point; a
    /// cancelled call leaves the body half read (the connection cannot be reused).
    /// </summary>
    /// <exception cref="MalformedHttpException">A bad chunk, or the connection ended inside the body.</exception>
    /// <exception cref="InvalidDataException">A chunk's size would take the body past the limit given to <see cref="Start"/>.</exception>
    /// <exception cref="UvException">The connection failed.</exception>
    public ValueTask<int> ReadAsync(Memory<byte> buffer)
    {
        var stream = _stream ?? throw new InvalidOperationException("HttpBodyReader.ReadAsync before Start");
        if (IsComplete || buffer.IsEmpty) return new ValueTask<int>(0);
        switch (_framing.Kind)
        {
            case HttpBodyKind.Length:
                return ReadCountedAsync(stream, buffer[..(int)Math.Min(buffer.Length, _remaining)], chunk: false);
            case HttpBodyKind.UntilClose:
                return ReadUntilCloseAsync(stream, buffer);
            default:
                if (_remaining > 0) return ReadCountedAsync(stream, buffer[..(int)Math.Min(buffer.Length, _remaining)], chunk: true);
                return ReadNextChunkAsync(stream, buffer);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadCountedAsync(IOStream stream, Memory<byte> buffer, bool chunk)
    {
        int n = await stream.ReadAsync(buffer);
        if (n == 0)
        {
            throw new MalformedHttpException(HttpViolation.BodyTooShort, chunk
                ? $"the connection closed inside a chunked body, {_remaining} bytes before the end of a chunk ({BytesRead} body bytes read)"
                : $"the body ended after {BytesRead} of the {_framing.Length} bytes its Content-Length announced", _peer, _request);
        }
        _remaining -= n;
        BytesRead += n;
        if (_remaining == 0)
        {
            if (chunk) _chunkEndDue = true;
            else IsComplete = true;
        }
        return n;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadUntilCloseAsync(IOStream stream, Memory<byte> buffer)
    {
        int n = await stream.ReadAsync(buffer);
        if (n == 0) IsComplete = true;
        BytesRead += n;
        return n;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadNextChunkAsync(IOStream stream, Memory<byte> buffer)
    {
        if (_chunkEndDue)
        {
            int end = await FindLineAsync(stream, 2, "the CRLF after a chunk's data");
            if (end == -2 || !IsLineEnd(stream.Buffered[..end], _request))
            {
                throw new MalformedHttpException(HttpViolation.BadChunkEnd,
                    $"a chunk's data is not followed by CRLF (\"{HttpWire.Shown(stream.Buffered[..Math.Min(stream.Available, 16)])}\")", _peer, _request);
            }
            stream.Skip(end);
            _chunkEndDue = false;
        }
        int length = await FindLineAsync(stream, _limits.MaxLineBytes, "a chunk-size line");
        if (length == -2)
        {
            throw new MalformedHttpException(HttpViolation.BadChunkSize, $"a chunk-size line longer than {_limits.MaxLineBytes} bytes", _peer, _request);
        }
        long size = ParseChunkSize(stream.Buffered[..length]);
        if (size > _maxBody - BytesRead)
        {
            throw new InvalidDataException($"a chunk of {size} bytes from {_peer} would take the body ({BytesRead} bytes so far) past the limit of {_maxBody} bytes");
        }
        stream.Skip(length);
        if (size == 0)
        {
            await ReadTrailersAsync(stream);
            IsComplete = true;
            return 0;
        }
        _remaining = size;
        return await ReadCountedAsync(stream, buffer[..(int)Math.Min(buffer.Length, _remaining)], chunk: true);
    }

    private long ParseChunkSize(ReadOnlySpan<byte> line)
    {
        var text = line;
        int n = text.Length;
        if (n > 0 && text[n - 1] == (byte)'\n') n--;
        if (n > 0 && text[n - 1] == (byte)'\r') n--;
        else if (_request) throw new MalformedHttpException(HttpViolation.BadChunkSize, $"a chunk-size line \"{HttpWire.Shown(line)}\" that ends in a bare LF, not CRLF", _peer, _request);
        text = text[..n];
        int semicolon = text.IndexOf((byte)';');
        var digits = (semicolon >= 0 ? text[..semicolon] : text).TrimEnd(" \t"u8);
        if (digits.IsEmpty || digits.Length > 15 || !Utf8Parser.TryParse(digits, out long size, out int consumed, 'x') || consumed != digits.Length)
        {
            throw new MalformedHttpException(HttpViolation.BadChunkSize, $"bad chunk size \"{HttpWire.Shown(text)}\"", _peer, _request);
        }
        return size;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ReadTrailersAsync(IOStream stream)
    {
        int total = 0;
        while (true)
        {
            int length = await FindLineAsync(stream, Math.Min(_limits.MaxLineBytes, _limits.MaxHeadBytes - total), "the trailer section");
            if (length == -2)
            {
                throw new MalformedHttpException(HttpViolation.HeaderSectionTooLong, $"the trailer section of a chunked body is longer than {_limits.MaxHeadBytes} bytes", _peer, _request);
            }
            var line = stream.Buffered[..length];
            total += length;
            if (_request && (length < 2 || line[^2] != (byte)'\r'))
            {
                throw new MalformedHttpException(HttpViolation.BadHeaderLine, $"a trailer line \"{HttpWire.Shown(line)}\" that ends in a bare LF, not CRLF", _peer, _request);
            }
            if (IsLineEnd(line, strict: false))
            {
                stream.Skip(length);
                return;
            }
            var fields = Trailers ??= new HttpFields(4);
            if (fields.Count == _limits.MaxHeaderCount)
            {
                throw new MalformedHttpException(HttpViolation.TooManyHeaders, $"more than {_limits.MaxHeaderCount} trailer fields", _peer, _request);
            }
            int colon = line.IndexOf((byte)':');
            if (colon <= 0) throw new MalformedHttpException(HttpViolation.BadHeaderLine, $"bad trailer line \"{HttpWire.Shown(line)}\"", _peer, _request);
            var value = line[(colon + 1)..].Trim(" \t\r\n"u8);
            fields.AddUnchecked(System.Text.Encoding.Latin1.GetString(line[..colon]), System.Text.Encoding.Latin1.GetString(value));
            stream.Skip(length);
        }
    }

    /// <summary>A whole line of at most <paramref name="max"/> bytes; -2 past it; EOF is a short body.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> FindLineAsync(IOStream stream, int max, string what)
    {
        if (max <= 0) return -2;
        int length = await stream.FindInBufferAsync(s_lf, max, "HTTP chunked body");
        if (length == -1)
        {
            throw new MalformedHttpException(HttpViolation.BodyTooShort,
                $"the connection closed inside a chunked body, while reading {what} ({BytesRead} body bytes read)", _peer, _request);
        }
        return length;
    }

    /// <summary>Whether <paramref name="line"/> is an empty line: CRLF, or (not <paramref name="strict"/>) a bare LF.</summary>
    private static bool IsLineEnd(ReadOnlySpan<byte> line, bool strict) => line.SequenceEqual("\r\n"u8) || !strict && line.SequenceEqual("\n"u8);
}
