using System.Text.Json;

namespace BaselineCrawler;

/// <summary>One fetched URL, with the fields of examples/crawler's JSONL records.</summary>
internal sealed class CrawlRecord
{
    public required string Url { get; init; }
    public string? FinalUrl { get; set; }
    public int? Status { get; set; }
    public required int Depth { get; init; }
    public string? ContentType { get; set; }
    public long Bytes { get; set; }
    public int Links { get; set; }
    public double ElapsedMs { get; set; }
    public string? Error { get; set; }
}

/// <summary>
/// The JSONL output, written like examples/crawler's: one object per line with System.Text.Json's
/// Utf8JsonWriter, flushed after each line so that an interrupted run leaves complete lines. The
/// workers write from many threads, hence the lock.
/// </summary>
internal sealed class RecordWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly Utf8JsonWriter _json;
    private readonly object _gate = new();

    public RecordWriter(string path)
    {
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 64 * 1024);
        _json = new Utf8JsonWriter(_file);
    }

    public void Write(CrawlRecord r)
    {
        lock (_gate)
        {
            _json.WriteStartObject();
            _json.WriteString("url", r.Url);
            _json.WriteString("final_url", r.FinalUrl);
            if (r.Status is { } status) _json.WriteNumber("status", status); else _json.WriteNull("status");
            _json.WriteNumber("depth", r.Depth);
            _json.WriteString("content_type", r.ContentType);
            _json.WriteNumber("bytes", r.Bytes);
            _json.WriteNumber("links", r.Links);
            _json.WriteNumber("elapsed_ms", Math.Round(r.ElapsedMs, 2));
            _json.WriteString("error", r.Error);
            _json.WriteEndObject();
            _json.Flush();
            _json.Reset();
            _file.WriteByte((byte)'\n');
            _file.Flush();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _json.Dispose();
            _file.Dispose();
        }
    }
}
