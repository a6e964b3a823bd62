namespace Evergreen.IO.Http;

/// <summary>The Content-Type of a served file, from its extension.</summary>
internal static class HttpContentTypes
{
    /// <summary>What a file of an unknown extension is served as.</summary>
    public const string Default = "application/octet-stream";

    private static readonly Dictionary<string, string> s_types = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".htm"] = "text/html; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".mjs"] = "text/javascript; charset=utf-8",
        [".json"] = "application/json",
        [".txt"] = "text/plain; charset=utf-8",
        [".png"] = "image/png",
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".gif"] = "image/gif",
        [".svg"] = "image/svg+xml",
        [".pdf"] = "application/pdf",
        [".xml"] = "application/xml",
        [".ico"] = "image/x-icon",
    };

    /// <summary>"text/css; charset=utf-8" for "a/site.css"; <see cref="Default"/> for an unknown or missing extension.</summary>
    public static string ForPath(string path)
    {
        string extension = Path.GetExtension(path);
        return extension.Length > 0 && s_types.TryGetValue(extension, out var type) ? type : Default;
    }
}
