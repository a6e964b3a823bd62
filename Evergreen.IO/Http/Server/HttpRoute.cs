using System.Diagnostics;

namespace Evergreen.IO.Http;

/// <summary>
/// One path of an <see cref="HttpServer"/>'s routes ("/a/b", or the prefix "/static/*") and the
/// handler of each method on it. A GET handler also answers HEAD unless HEAD has its own.
/// </summary>
[DebuggerDisplay("{Pattern,nq} ({Allow,nq})")]
internal sealed class HttpRoute
{
    private readonly List<(string Method, HttpHandler Handler)> _methods = new(2);
    private HttpHandler? _implicitHead;  // the GET handler, for HEAD when HEAD has none of its own
    private string? _allow;

    public HttpRoute(string pattern)
    {
        Pattern = pattern;
        IsPrefix = pattern.EndsWith("/*", StringComparison.Ordinal);
        Prefix = IsPrefix ? pattern[..^1] : pattern;
    }

    /// <summary>As mapped: "/a/b" or "/static/*".</summary>
    public string Pattern { get; }

    /// <summary>True for a "/prefix/*" route.</summary>
    public bool IsPrefix { get; }

    /// <summary>The exact path, or for a prefix route the prefix with its slash ("/static/").</summary>
    public string Prefix { get; }

    /// <summary>The value of the Allow header of a 405 on this path: "GET, HEAD, POST".</summary>
    public string Allow => _allow ??= BuildAllow();

    /// <exception cref="InvalidOperationException">The method is already mapped on this path.</exception>
    public void Add(string method, HttpHandler handler)
    {
        foreach (var (m, _) in _methods)
        {
            if (m == method) throw new InvalidOperationException($"{method} {Pattern} is already mapped: a method and path have one handler.");
        }
        _methods.Add((method, handler));
        if (method == "GET") _implicitHead = handler;
        _allow = null;
    }

    /// <summary>The handler for <paramref name="method"/>, or null (then 405).</summary>
    public HttpHandler? Find(string method)
    {
        var methods = _methods;
        for (int i = 0; i < methods.Count; i++)
        {
            if (methods[i].Method == method) return methods[i].Handler;
        }
        return method == "HEAD" ? _implicitHead : null;
    }

    /// <summary>Whether <paramref name="path"/> is under this prefix route; "/static" counts for "/static/*".</summary>
    public bool Covers(string path) =>
        path.StartsWith(Prefix, StringComparison.Ordinal) ||
        path.Length == Prefix.Length - 1 && Prefix.StartsWith(path, StringComparison.Ordinal);

    /// <summary>What <paramref name="path"/> has past the prefix (see <see cref="HttpServerRequest.RouteRest"/>).</summary>
    public string Rest(string path) => path.Length <= Prefix.Length ? "" : path[Prefix.Length..];

    private string BuildAllow()
    {
        var names = new List<string>(_methods.Count + 1);
        foreach (var (m, _) in _methods) names.Add(m);
        if (_implicitHead is not null && !names.Contains("HEAD")) names.Add("HEAD");
        names.Sort(StringComparer.Ordinal);
        return string.Join(", ", names);
    }
}
