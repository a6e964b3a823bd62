// What one --allow-host admits. An origin is scheme, host and port (RFC 6454), and it is what the
// crawl is scoped by, what robots.txt applies to (RFC 9309 §2.3) and what a connection is: an
// https:// link to the start URL's own host and port is another origin (a TLS hello sent to a
// plain-HTTP port is the bug this prevents). A pattern names the host and may leave out the
// scheme (then it is the start URL's) or the port (then any port of that scheme).

namespace Evergreen.Crawler;

/// <summary>
/// One <c>--allow-host</c> value: <c>https://cdn.example.org</c> (that scheme, any port),
/// <c>https://cdn.example.org:8443</c> (that origin only), <c>cdn.example.org</c> or
/// <c>cdn.example.org:8080</c> (the start URL's scheme). Immutable.
/// </summary>
public sealed record OriginPattern
{
    private OriginPattern(string? scheme, string host, int? port)
    {
        Scheme = scheme;
        Host = host;
        Port = port;
    }

    /// <summary>"http" or "https", or null for the start URL's scheme.</summary>
    public string? Scheme { get; }

    /// <summary>The host, lowercase (an IPv6 address in brackets).</summary>
    public string Host { get; }

    /// <summary>The port, or null for any port.</summary>
    public int? Port { get; }

    /// <summary>
    /// Whether <paramref name="url"/>'s origin matches, a missing scheme standing for
    /// <paramref name="startUrl"/>'s.
    /// </summary>
    public bool Admits(Uri url, Uri startUrl) =>
        string.Equals(url.Scheme, Scheme ?? startUrl.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(url.Host, Host, StringComparison.OrdinalIgnoreCase)
        && (Port is not { } port || url.Port == port);

    /// <summary>
    /// Reads <c>[SCHEME://]HOST[:PORT]</c> (SCHEME http or https, nothing after the authority but
    /// an optional "/"); null if <paramref name="text"/> is not that.
    /// </summary>
    public static OriginPattern? TryParse(string text)
    {
        string? scheme = null;
        string authority = text;
        int separator = text.IndexOf("://", StringComparison.Ordinal);
        if (separator >= 0)
        {
            scheme = text[..separator].ToLowerInvariant();
            if (scheme is not ("http" or "https")) return null;
            authority = text[(separator + 3)..];
            if (authority.EndsWith('/')) authority = authority[..^1];
        }
        if (authority.Length == 0 || authority.IndexOfAny(['/', '@', '?', '#', ' ', '\\']) >= 0
            || !Uri.TryCreate("http://" + authority + "/", UriKind.Absolute, out var parsed) || parsed.Host.Length == 0)
        {
            return null;
        }
        bool hasPort = System.Text.RegularExpressions.Regex.IsMatch(authority, @"(^[^:\[]*|\]):[0-9]+$");
        return new OriginPattern(scheme, parsed.Host, hasPort ? parsed.Port : null);
    }

    /// <summary>As <see cref="TryParse"/>, throwing on a bad value (for code and tests).</summary>
    /// <exception cref="FormatException"><paramref name="text"/> is not <c>[SCHEME://]HOST[:PORT]</c>.</exception>
    public static OriginPattern Parse(string text) => TryParse(text)
        ?? throw new FormatException($"'{text}' is not an origin pattern: [http:// or https://]HOST[:PORT], such as https://cdn.example.org or 127.0.0.1:8080");

    /// <summary>The pattern as written back: <c>https://cdn.example.org:8443</c>, <c>cdn.example.org</c>.</summary>
    public override string ToString() => $"{(Scheme is null ? "" : Scheme + "://")}{Host}{(Port is { } port ? ":" + port : "")}";
}
