// Politeness, per origin (scheme, host, port): at most PerHost fetches at once, at least Delay
// between the starts of two of them, and robots.txt fetched once. The first worker to need an
// origin's robots.txt fetches it; workers arriving meanwhile wait for that one fetch instead of
// starting their own. If the fetching worker is killed mid-fetch (Ctrl-C), the origin goes back
// to "not fetched" and a waiting worker takes over. Loop thread only.

using Evergreen.Sync;

namespace Evergreen.Crawler;

/// <summary>
/// Per-origin politeness: a bound on concurrent fetches, a delay between request starts, and
/// robots.txt (fetched once per origin through the delegate given, which turns failures into
/// <see cref="RobotsTxt.DisallowAll"/> or <see cref="RobotsTxt.AllowAll"/> itself). Loop thread only.
/// </summary>
public sealed class HostPolicy
{
    private readonly Dictionary<string, Origin> _origins = new(StringComparer.OrdinalIgnoreCase);
    private readonly int _perHost;
    private readonly TimeSpan _delay;
    private readonly Func<Uri, Task<RobotsTxt>>? _fetchRobots;

    /// <summary>
    /// A policy of <paramref name="perHost"/> fetches at once and <paramref name="delay"/> between
    /// starts per origin; <paramref name="fetchRobots"/> fetches an origin's robots.txt (given its
    /// URL), or null to ignore robots.
    /// </summary>
    public HostPolicy(int perHost, TimeSpan delay, Func<Uri, Task<RobotsTxt>>? fetchRobots)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perHost);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        _perHost = perHost;
        _delay = delay;
        _fetchRobots = fetchRobots;
    }

    /// <summary>How many robots.txt fetches were made (one per origin, unless one was cancelled).</summary>
    public int RobotsFetches { get; private set; }

    /// <summary>How many URLs robots.txt disallowed.</summary>
    public int Disallowed { get; private set; }

    /// <summary>How many origins were seen.</summary>
    public int OriginCount => _origins.Count;

    /// <summary>
    /// Whether robots.txt lets the crawler fetch <paramref name="url"/>. The first call for an
    /// origin fetches its robots.txt; calls arriving meanwhile wait for that fetch. A yield point
    /// then (never once the origin's robots.txt is known); a cancelled call leaves the origin's
    /// robots.txt unfetched for the next caller to fetch.
    /// </summary>
    public async ValueTask<bool> IsAllowedAsync(Uri url)
    {
        if (_fetchRobots is null) return true;
        var origin = For(url);
        while (origin.Robots is null)
        {
            if (origin.RobotsFetch is { } fetching)
            {
                await fetching.WaitAsync();
                continue;
            }
            var done = origin.RobotsFetch = new AsyncEvent();
            try
            {
                RobotsFetches++;
                origin.Robots = await _fetchRobots(new Uri(url, "/robots.txt"));
            }
            finally
            {
                origin.RobotsFetch = null;
                done.Set();
            }
        }
        if (origin.Robots.IsAllowed(url.PathAndQuery)) return true;
        Disallowed++;
        return false;
    }

    /// <summary>
    /// Told the loop time of each start the delay spaced (what the delay is measured from), for
    /// tests: the time a caller reads after its await resumes can be later by any scheduling delay.
    /// </summary>
    internal Action<double>? Started { get; set; }

    /// <summary>
    /// Waits for a fetch slot on <paramref name="url"/>'s origin and for its delay; dispose the
    /// result to give the slot back. A yield point when it waits; a cancelled call holds no slot.
    /// </summary>
    public async ValueTask<AsyncReleaser> EnterAsync(Uri url)
    {
        var origin = For(url);
        var slot = await origin.Slots.LockAsync();
        if (_delay > TimeSpan.Zero)
        {
            // Waiters recheck after each sleep instead of booking start times in advance: a
            // sleep can end late, and a booked schedule would then let the next start come less
            // than the delay after this one. Sleeps never end early, so the gap is at least the delay.
            var loop = EventLoop.Current;
            try
            {
                for (double wait; (wait = origin.LastStart + _delay.TotalSeconds - loop.Time.TotalSeconds) > 0;)
                {
                    await Tasklet.Sleep(TimeSpan.FromSeconds(wait));
                }
            }
            catch
            {
                slot.Dispose();
                throw;
            }
            origin.LastStart = loop.Time.TotalSeconds;
            Started?.Invoke(origin.LastStart);
        }
        return slot;
    }

    /// <summary>The robots.txt known for <paramref name="url"/>'s origin, or null if it was not fetched (yet).</summary>
    public RobotsTxt? RobotsFor(Uri url) => _origins.TryGetValue(Key(url), out var origin) ? origin.Robots : null;

    private Origin For(Uri url)
    {
        string key = Key(url);
        if (!_origins.TryGetValue(key, out var origin))
        {
            origin = new Origin(new AsyncSemaphore(_perHost));
            _origins.Add(key, origin);
        }
        return origin;
    }

    private static string Key(Uri url) => $"{url.Scheme}://{url.Host}:{url.Port}";

    private sealed class Origin(AsyncSemaphore slots)
    {
        public AsyncSemaphore Slots { get; } = slots;
        public double LastStart { get; set; } = double.NegativeInfinity;
        public RobotsTxt? Robots { get; set; }
        public AsyncEvent? RobotsFetch { get; set; }
    }
}
