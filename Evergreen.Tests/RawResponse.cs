using System.Text;

namespace Evergreen.Tests;

/// <summary>One reply as <see cref="RawHttpClient"/> read it.</summary>
internal sealed class RawResponse(int status, string reason, List<KeyValuePair<string, string>> headers)
{
    public int Status { get; } = status;

    public string Reason { get; } = reason;

    public List<KeyValuePair<string, string>> Headers { get; } = headers;

    public byte[] Body { get; set; } = [];

    /// <summary>The sizes of the chunks of a chunked body, in order (empty otherwise).</summary>
    public List<int> ChunkSizes { get; } = new();

    public string Text => Encoding.UTF8.GetString(Body);

    /// <summary>The first value of a header (names case-insensitive), or null.</summary>
    public string? Header(string name)
    {
        foreach (var (key, value) in Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) return value;
        }
        return null;
    }

    /// <summary>How many times a header appears.</summary>
    public int Count(string name) => Headers.Count(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase));

    public override string ToString() => $"{Status} {Reason} ({Body.Length} bytes)";
}
