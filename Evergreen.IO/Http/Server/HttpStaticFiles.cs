// HttpStaticFiles: the handler behind HttpServer.MapFiles.
//
// The one rule: no request path may name anything outside the directory. The path after the
// route's prefix is percent-decoded once, then refused (404, like a missing file, so a probe
// learns nothing) if any segment is "." or "..", empty (a doubled slash: "//etc/passwd" would be
// absolute), or holds a backslash, a NUL or a colon; and, in case a rule was missed, the full
// path it resolves to must still lie under the directory. Symbolic links inside the directory are
// followed, as nginx does by default: a link placed there is the owner's choice.
using System.Diagnostics;

namespace Evergreen.IO.Http;

/// <summary>Serves the files under one directory (see <see cref="HttpServer.MapFiles"/>).</summary>
[DebuggerDisplay("static files in {_root,nq}")]
internal sealed class HttpStaticFiles
{
    private readonly string _root;   // full path, without a trailing separator
    private readonly string _rootWithSeparator;

    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public HttpStaticFiles(string directory)
    {
        string full = Path.GetFullPath(directory);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"MapFiles: the directory {full} does not exist");
        _root = Path.TrimEndingDirectorySeparator(full);
        _rootWithSeparator = _root + Path.DirectorySeparatorChar;
    }

    public async ValueTask HandleAsync(HttpServerRequest request, HttpServerReply reply)
    {
        string rest = request.RouteRest;
        if (!TryResolve(rest, out string? path))
        {
            await NotFoundAsync(reply);
            return;
        }
        // "/static" and "/static/docs/" name directories: their index.html.
        bool directoryUrl = rest.Length == 0 || rest.EndsWith('/');
        if (directoryUrl && !request.Path.EndsWith('/'))
        {
            await RedirectToDirectoryAsync(request, reply);
            return;
        }
        var found = await reply.SendFileIfFoundAsync(path, null, directoryIndex: directoryUrl);
        if (found == HttpFile.Found.Directory) await RedirectToDirectoryAsync(request, reply);
        else if (found == HttpFile.Found.Missing) await NotFoundAsync(reply);
    }

    /// <summary>
    /// The full path under the directory that <paramref name="rest"/> (raw, percent-encoded)
    /// names; false if it names none or would leave the directory.
    /// </summary>
    internal bool TryResolve(string rest, out string path)
    {
        path = _root;
        string decoded = rest.Contains('%') ? Uri.UnescapeDataString(rest) : rest;
        if (decoded.Length == 0) return true;
        var span = decoded.AsSpan();
        if (span.ContainsAny('\\', '\0', ':')) return false;
        int segments = 0;
        foreach (var range in span.Split('/'))
        {
            var segment = span[range];
            bool last = range.End.GetOffset(span.Length) == span.Length;
            if (segment.IsEmpty && !(last && segments > 0)) return false; // "//x", "/x": absolute or doubled
            if (segment is "." or "..") return false;
            segments++;
        }
        string full = Path.GetFullPath(Path.Join(_root, decoded));
        if (!full.StartsWith(_rootWithSeparator, StringComparison.Ordinal) && full != _root) return false;
        path = full;
        return true;
    }

    private static ValueTask NotFoundAsync(HttpServerReply reply) => reply.SendTextAsync(404, "404 Not Found\n");

    private static ValueTask RedirectToDirectoryAsync(HttpServerRequest request, HttpServerReply reply) =>
        reply.RedirectAsync(request.Path + "/" + (request.Query.Length > 0 ? "?" + request.Query : ""), 301);
}
