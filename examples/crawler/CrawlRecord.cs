namespace Evergreen.Crawler;

/// <summary>
/// What happened to one fetched URL: one line of the JSONL output (see README.md for the fields
/// and the <see cref="Error"/> vocabulary, <see cref="CrawlErrors"/>).
/// </summary>
/// <param name="Url">The URL fetched (normalized).</param>
/// <param name="FinalUrl">Where it led: the redirect target (normalized) for a 3xx, the URL itself otherwise; null when no response came.</param>
/// <param name="Status">The response's status code; null when no response came.</param>
/// <param name="Depth">Links from the start URL (a redirect target keeps its source's depth).</param>
/// <param name="ContentType">The response's media type, lowercased ("text/html"); null if none.</param>
/// <param name="Bytes">Body bytes received (decoded).</param>
/// <param name="Links">Links found in the page (HTML 2xx only; 0 otherwise).</param>
/// <param name="ElapsedMs">Time from sending the request to the last body byte (or to the error).</param>
/// <param name="Error">Null, or a short reason from <see cref="CrawlErrors"/>.</param>
public sealed record CrawlRecord(
    string Url, string? FinalUrl, int? Status, int Depth, string? ContentType, long Bytes, int Links, double ElapsedMs, string? Error);
