namespace Evergreen.IO.Http;

// Routing: exact paths in a dictionary, prefix routes ("/static/*") in a list kept longest
// first, so the first prefix that covers a path is the longest one. Lookups compare raw
// (still percent-encoded) paths, ordinally; methods are case-sensitive (RFC 9110 §9.1).
public sealed partial class HttpServer
{
    private readonly Dictionary<string, HttpRoute> _exact = new(StringComparer.Ordinal);
    private readonly List<HttpRoute> _prefixes = new();

    /// <summary>
    /// Routes <paramref name="method"/> requests for <paramref name="path"/> to
    /// <paramref name="handler"/>. An exact path ("/a/b"), or a prefix ending in "/*" ("/static/*")
    /// that covers every path under it and the bare "/static"; the longest prefix wins, and an
    /// exact path beats every prefix. The path is compared raw (percent-encoded), without the
    /// query. A path with no route is answered 404, a path whose route lacks the method 405 with
    /// an <c>Allow</c> header. Not a yield point; returns this server, to chain calls.
    /// </summary>
    /// <exception cref="ArgumentException">The method is not an HTTP token, or the path does not start with '/' or has a '*' other than a final "/*".</exception>
    /// <exception cref="InvalidOperationException">The method is already mapped on that path.</exception>
    public HttpServer Map(string method, string path, HttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(handler);
        if (!IsToken(method)) throw new ArgumentException($"\"{method}\" is not an HTTP method (a token such as GET)", nameof(method));
        CheckPattern(path);
        Route(path).Add(method, handler);
        return this;
    }

    /// <summary>
    /// Routes GET requests for <paramref name="path"/> to <paramref name="handler"/>, and HEAD
    /// requests too (unless HEAD is mapped on its own): for HEAD the handler runs as for GET and
    /// the reply keeps its headers but drops its body. See <see cref="Map"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The path is not a route path (see <see cref="Map"/>).</exception>
    /// <exception cref="InvalidOperationException">GET is already mapped on that path.</exception>
    public HttpServer MapGet(string path, HttpHandler handler) => Map("GET", path, handler);

    /// <summary>Routes POST requests for <paramref name="path"/> to <paramref name="handler"/>. See <see cref="Map"/>.</summary>
    /// <exception cref="ArgumentException">The path is not a route path (see <see cref="Map"/>).</exception>
    /// <exception cref="InvalidOperationException">POST is already mapped on that path.</exception>
    public HttpServer MapPost(string path, HttpHandler handler) => Map("POST", path, handler);

    /// <summary>
    /// Serves the files under <paramref name="directory"/> at <paramref name="urlPrefix"/> ("/static"
    /// serves <c>directory/a.css</c> as "/static/a.css"): GET and HEAD, the Content-Type from the
    /// extension, <c>index.html</c> for a directory (and a 301 to add the slash to a directory's
    /// path), Last-Modified and If-Modified-Since. Paths are percent-decoded, and one that would
    /// leave the directory (<c>..</c>, an absolute path, an encoded separator trick) is answered
    /// 404, like a missing file. Disk reads run on the thread pool (<see cref="Offload"/>). Not a
    /// yield point; returns this server.
    /// </summary>
    /// <exception cref="ArgumentException">The prefix does not start with '/' or contains '*'.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="InvalidOperationException">GET is already mapped on that prefix.</exception>
    public HttpServer MapFiles(string urlPrefix, string directory)
    {
        ArgumentNullException.ThrowIfNull(urlPrefix);
        ArgumentNullException.ThrowIfNull(directory);
        if (!urlPrefix.StartsWith('/') || urlPrefix.Contains('*'))
        {
            throw new ArgumentException($"the URL prefix \"{urlPrefix}\" must start with '/' and have no '*'", nameof(urlPrefix));
        }
        var files = new HttpStaticFiles(directory);
        string pattern = urlPrefix.EndsWith('/') ? urlPrefix + "*" : urlPrefix + "/*";
        return MapGet(pattern, files.HandleAsync);
    }

    /// <summary>The route for <paramref name="path"/>, or null; sets nothing (the caller takes the rest).</summary>
    private HttpRoute? FindRoute(string path)
    {
        if (_exact.TryGetValue(path, out var route)) return route;
        var prefixes = _prefixes;
        for (int i = 0; i < prefixes.Count; i++)
        {
            if (prefixes[i].Covers(path)) return prefixes[i];
        }
        return null;
    }

    private HttpRoute Route(string pattern)
    {
        if (pattern.EndsWith("/*", StringComparison.Ordinal))
        {
            foreach (var existing in _prefixes)
            {
                if (existing.Pattern == pattern) return existing;
            }
            var prefix = new HttpRoute(pattern);
            int at = 0;
            while (at < _prefixes.Count && _prefixes[at].Prefix.Length >= prefix.Prefix.Length) at++;
            _prefixes.Insert(at, prefix);
            return prefix;
        }
        if (!_exact.TryGetValue(pattern, out var route)) _exact.Add(pattern, route = new HttpRoute(pattern));
        return route;
    }

    private static void CheckPattern(string path)
    {
        int star = path.IndexOf('*');
        bool wellPlaced = star < 0 || star == path.Length - 1 && path.EndsWith("/*", StringComparison.Ordinal);
        if (!path.StartsWith('/') || !wellPlaced || path.AsSpan().ContainsAny('?', ' ') || path.AsSpan().ContainsAnyInRange('\0', (char)0x1f))
        {
            throw new ArgumentException($"the route path \"{path}\" must start with '/', have no query, space or control character, and no '*' but a final \"/*\"", nameof(path));
        }
    }

    /// <summary>Whether <paramref name="s"/> is an RFC 9110 token (method names are tokens).</summary>
    internal static bool IsToken(string s)
    {
        if (s.Length == 0) return false;
        foreach (char c in s)
        {
            bool ok = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' ||
                "!#$%&'*+-.^_`|~".Contains(c);
            if (!ok) return false;
        }
        return true;
    }
}
