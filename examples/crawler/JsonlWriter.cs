// Each record is serialized into a reusable buffer, then written to the file as one complete
// line and flushed: a crash or Ctrl-C can lose records but never leaves half a line. The writes
// are synchronous: a short line appended to a local file lands in the page cache in
// microseconds, less than handing it to a thread would cost.

using System.Buffers;
using System.Text.Json;

namespace Evergreen.Crawler;

/// <summary>Writes <see cref="CrawlRecord"/>s as JSON Lines: one object per line, each flushed as it is written.</summary>
public sealed class JsonlWriter : IDisposable
{
    private static readonly JsonEncodedText UrlName = JsonEncodedText.Encode("url");
    private static readonly JsonEncodedText FinalUrlName = JsonEncodedText.Encode("final_url");
    private static readonly JsonEncodedText StatusName = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText DepthName = JsonEncodedText.Encode("depth");
    private static readonly JsonEncodedText ContentTypeName = JsonEncodedText.Encode("content_type");
    private static readonly JsonEncodedText BytesName = JsonEncodedText.Encode("bytes");
    private static readonly JsonEncodedText LinksName = JsonEncodedText.Encode("links");
    private static readonly JsonEncodedText ElapsedName = JsonEncodedText.Encode("elapsed_ms");
    private static readonly JsonEncodedText ErrorName = JsonEncodedText.Encode("error");

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly ArrayBufferWriter<byte> _buffer = new(512);
    private readonly Utf8JsonWriter _json;
    private bool _disposed;

    /// <summary>A writer onto <paramref name="stream"/>; <paramref name="ownsStream"/> says whether disposing it closes the stream.</summary>
    public JsonlWriter(Stream stream, bool ownsStream = true)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Indented = false, SkipValidation = false });
    }

    /// <summary>Creates (or truncates) the file at <paramref name="path"/>.</summary>
    /// <exception cref="IOException">The file cannot be created (the message names it).</exception>
    public static JsonlWriter Create(string path) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0), ownsStream: true);

    /// <summary>How many records were written.</summary>
    public int Count { get; private set; }

    /// <summary>Writes one record as one line and flushes it. Not a yield point.</summary>
    public void Write(CrawlRecord record)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _buffer.ResetWrittenCount();
        _json.Reset();
        _json.WriteStartObject();
        _json.WriteString(UrlName, record.Url);
        WriteStringOrNull(FinalUrlName, record.FinalUrl);
        if (record.Status is { } status) _json.WriteNumber(StatusName, status);
        else _json.WriteNull(StatusName);
        _json.WriteNumber(DepthName, record.Depth);
        WriteStringOrNull(ContentTypeName, record.ContentType);
        _json.WriteNumber(BytesName, record.Bytes);
        _json.WriteNumber(LinksName, record.Links);
        _json.WriteNumber(ElapsedName, Math.Round(record.ElapsedMs, 2));
        WriteStringOrNull(ErrorName, record.Error);
        _json.WriteEndObject();
        _json.Flush();
        _buffer.Write("\n"u8);
        _stream.Write(_buffer.WrittenSpan);
        _stream.Flush();
        Count++;
    }

    private void WriteStringOrNull(JsonEncodedText name, string? value)
    {
        if (value is null) _json.WriteNull(name);
        else _json.WriteString(name, value);
    }

    /// <summary>Flushes and closes the file (if owned). Safe to call twice.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _json.Dispose();
        _stream.Flush();
        if (_ownsStream) _stream.Dispose();
    }
}
