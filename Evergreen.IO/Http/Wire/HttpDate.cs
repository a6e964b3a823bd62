using System.Globalization;
using System.Text;

namespace Evergreen.IO.Http;

/// <summary>
/// HTTP dates (RFC 9110 §5.6.7, "Sun, 06 Nov 1994 08:49:37 GMT") and the <c>Date</c> header line
/// of replies, formatted once a second per thread (each loop has its own thread).
/// </summary>
internal static class HttpDate
{
    [ThreadStatic] private static long t_second;
    [ThreadStatic] private static byte[]? t_line;

    /// <summary>"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" for now, as bytes.</summary>
    public static ReadOnlySpan<byte> HeaderLine()
    {
        var now = DateTime.UtcNow;
        long second = now.Ticks / TimeSpan.TicksPerSecond;
        if (second != t_second || t_line is null)
        {
            t_line = Encoding.ASCII.GetBytes("Date: " + Format(now) + "\r\n");
            t_second = second;
        }
        return t_line;
    }

    /// <summary>The IMF-fixdate form of <paramref name="utc"/>.</summary>
    public static string Format(DateTime utc) => utc.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Parses an IMF-fixdate (the obsolete forms too); false if it is none.</summary>
    public static bool TryParse(string? text, out DateTime utc)
    {
        utc = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed))
        {
            return false;
        }
        utc = DateTime.SpecifyKind(parsed, DateTimeKind.Utc);
        return true;
    }
}
