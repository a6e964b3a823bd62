using System.Buffers;

namespace Evergreen.IO.Http;

// Sending files: the head (Content-Length, Content-Type, Last-Modified) goes out with the first
// chunk, and the rest follows chunk by chunk, each read on the thread pool (see HttpFile).
public sealed partial class HttpServerReply
{
    /// <summary>
    /// Sends the file at <paramref name="path"/> as the whole reply (status 200): Content-Length,
    /// Content-Type (<paramref name="contentType"/>, or from the extension), Last-Modified; or 304
    /// Not Modified when the request's If-Modified-Since is not older than the file. The file is
    /// read on the thread pool in 64 KiB chunks (<see cref="Offload"/>), never on the loop. Ends
    /// the reply. A yield point; a cancelled call leaves the reply cut short (the connection is
    /// closed after it) and the file closed.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no regular file at <paramref name="path"/> (a directory, a FIFO, a device); nothing was sent.</exception>
    /// <exception cref="InvalidOperationException">Part of the reply was already written, or it was ended.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be read.</exception>
    /// <exception cref="UvException">The client is gone.</exception>
    public async ValueTask SendFileAsync(string path, string? contentType = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckFresh("SendFileAsync");
        string full = Path.GetFullPath(path);
        if (await SendFileIfFoundAsync(full, contentType, directoryIndex: false) != HttpFile.Found.File)
        {
            throw new FileNotFoundException($"SendFileAsync: there is no file at {full}", full);
        }
    }

    /// <summary>
    /// Sends the file at <paramref name="fullPath"/> (a directory's index.html with
    /// <paramref name="directoryIndex"/>) and says what it found there: when it is not
    /// <see cref="HttpFile.Found.File"/> nothing was sent. For <see cref="HttpStaticFiles"/>, which
    /// answers a missing file with a 404 and a directory with a redirect.
    /// </summary>
    internal async ValueTask<HttpFile.Found> SendFileIfFoundAsync(string fullPath, string? contentType, bool directoryIndex)
    {
        CheckFresh("SendFileAsync");
        var (found, file) = await HttpFile.OpenAsync(fullPath, directoryIndex, readFirst: !_isHead);
        if (found != HttpFile.Found.File) return found;
        using (file)
        {
            await SendOpenFileAsync(file!, contentType ?? HttpContentTypes.ForPath(file!.Path));
        }
        return found;
    }

    private async ValueTask SendOpenFileAsync(HttpFile file, string contentType)
    {
        // HTTP dates have whole seconds: compare what the client could have seen.
        var modified = new DateTime(file.LastWriteUtc.Ticks - file.LastWriteUtc.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
        Headers.Set("Last-Modified", HttpDate.Format(modified));
        if (_request?.Headers.Get("If-Modified-Since") is { } since && HttpDate.TryParse(since, out var sinceUtc) && modified <= sinceUtc)
        {
            _statusCode = 304;
            _ended = true;
            WriteHead(HttpBodyKind.None, 0);
            await _conn.FlushAsync();
            return;
        }
        Headers.Set("Content-Type", contentType);
        _ended = true;
        WriteHead(HttpBodyKind.Length, file.Length);
        if (!SendsBody || file.Length == 0)
        {
            await _conn.FlushAsync();
            return;
        }
        long left = file.Length;
        var chunk = file.Chunk;
        if (chunk.Length <= CopyLimit)
        {
            // A small file: its head and all of it in one write.
            _conn.Out.Write(chunk.Span);
            await _conn.FlushAsync();
        }
        else
        {
            await _conn.FlushAsync();
            await file.WriteChunkAsync(_conn, chunk.Length);
        }
        _written = chunk.Length;
        left -= chunk.Length;
        while (left > 0)
        {
            int n = await file.ReadNextAsync();
            if (n == 0)
            {
                // The file shrank while it was sent: the Content-Length cannot be kept.
                CloseAfter = true;
                return;
            }
            n = (int)Math.Min(n, left);
            await file.WriteChunkAsync(_conn, n);
            _written += n;
            left -= n;
        }
    }
}
