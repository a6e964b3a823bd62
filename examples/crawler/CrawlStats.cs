using System.Diagnostics;

namespace Evergreen.Crawler;

/// <summary>
/// The crawl's running totals: pages, errors by kind, bytes, fetch times (for p50 and p99) and
/// wall time. Loop thread only; <see cref="ProgressView"/> reads it there and hands copies to its
/// display thread.
/// </summary>
public sealed class CrawlStats
{
    private readonly Dictionary<string, int> _errors = new(StringComparer.Ordinal);
    private readonly List<double> _fetchMs = [];
    private readonly Stopwatch _clock = new();

    /// <summary>URLs fetched (one record each, errors included).</summary>
    public int Pages { get; private set; }

    /// <summary>Records with an error.</summary>
    public int Errors { get; private set; }

    /// <summary>Body bytes received.</summary>
    public long Bytes { get; private set; }

    /// <summary>Links found in the pages parsed.</summary>
    public long Links { get; private set; }

    /// <summary>How many records had each error, by its reason ("http 404", "timeout: total").</summary>
    public IReadOnlyDictionary<string, int> ErrorsByKind => _errors;

    /// <summary>Time since <see cref="Start"/> (until <see cref="Stop"/>).</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Pages per second of wall time so far.</summary>
    public double PagesPerSecond => Elapsed.TotalSeconds > 0 ? Pages / Elapsed.TotalSeconds : 0;

    /// <summary>Starts the wall clock.</summary>
    public void Start() => _clock.Start();

    /// <summary>Stops the wall clock.</summary>
    public void Stop() => _clock.Stop();

    /// <summary>Counts one record.</summary>
    public void Add(CrawlRecord record)
    {
        Pages++;
        Bytes += record.Bytes;
        Links += record.Links;
        if (record.Error != CrawlErrors.Canceled) _fetchMs.Add(record.ElapsedMs);
        if (record.Error is { } error)
        {
            Errors++;
            _errors[error] = _errors.GetValueOrDefault(error) + 1;
        }
    }

    /// <summary>
    /// The fetch time (ms) that <paramref name="percent"/>% of fetches stayed within (nearest
    /// rank); 0 before any fetch. Cancelled fetches are left out.
    /// </summary>
    public double FetchPercentile(double percent)
    {
        if (_fetchMs.Count == 0) return 0;
        var sorted = _fetchMs.ToArray();
        Array.Sort(sorted);
        int rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
