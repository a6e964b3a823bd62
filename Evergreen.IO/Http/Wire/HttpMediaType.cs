using System.Text;

namespace Evergreen.IO.Http;

/// <summary>Reads a <c>Content-Type</c> (media type and charset) and decodes text by its charset.</summary>
internal static class HttpMediaType
{
    /// <summary>
    /// Splits <c>text/html; charset="UTF-8"</c> into <c>text/html</c> (lowercased) and <c>UTF-8</c>.
    /// Either is null when absent.
    /// </summary>
    public static (string? MediaType, string? Charset) Parse(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType)) return (null, null);
        var span = contentType.AsSpan();
        int semicolon = span.IndexOf(';');
        var type = (semicolon >= 0 ? span[..semicolon] : span).Trim();
        string? mediaType = type.IsEmpty ? null : type.ToString().ToLowerInvariant();
        string? charset = null;
        var rest = semicolon >= 0 ? span[(semicolon + 1)..] : ReadOnlySpan<char>.Empty;
        while (!rest.IsEmpty && charset is null)
        {
            int next = rest.IndexOf(';');
            var parameter = (next >= 0 ? rest[..next] : rest).Trim();
            rest = next >= 0 ? rest[(next + 1)..] : ReadOnlySpan<char>.Empty;
            int equals = parameter.IndexOf('=');
            if (equals <= 0 || !parameter[..equals].Trim().Equals("charset", StringComparison.OrdinalIgnoreCase)) continue;
            var value = parameter[(equals + 1)..].Trim();
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"') value = value[1..^1];
            if (!value.IsEmpty) charset = value.ToString();
        }
        return (mediaType, charset);
    }

    /// <summary>
    /// Decodes <paramref name="bytes"/> as text: a byte order mark wins, then
    /// <paramref name="charset"/> (any encoding .NET or its code pages know), else UTF-8. Invalid
    /// bytes become U+FFFD.
    /// </summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string? charset)
    {
        if (bytes.IsEmpty) return "";
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) return Encoding.UTF8.GetString(bytes[3..]);
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE])) return Encoding.Unicode.GetString(bytes[2..]);
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])) return Encoding.BigEndianUnicode.GetString(bytes[2..]);
        return EncodingFor(charset).GetString(bytes);
    }

    /// <summary>The encoding a charset names; UTF-8 when it names none that is known.</summary>
    public static Encoding EncodingFor(string? charset)
    {
        if (charset is null || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return Encoding.UTF8;
        }
        try
        {
            return Encoding.GetEncoding(charset);
        }
        catch (ArgumentException)
        {
            // Not built in: the legacy code pages (windows-1252, shift_jis...), asked for directly
            // rather than registered process-wide.
            return CodePagesEncodingProvider.Instance.GetEncoding(charset) ?? Encoding.UTF8;
        }
    }
}
