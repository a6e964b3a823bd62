// The frontier: the URLs still to crawl, FIFO, and every URL ever taken in, so none is taken
// twice. Workers pull from it until it says the crawl is done: nothing queued and no worker busy
// with a page (whose links could still add more). That test must be made where it can change -
// when a worker hands a page back - and every parked worker must then wake: the worker that
// finds the crawl done puts a null "done" marker in the queue, and each worker that takes the
// marker puts it back for the next one before it leaves.
//
// Memory stays bounded on a link trap: once MaxPages URLs were taken in, new links are counted
// and dropped, not stored; links deeper than MaxDepth and links to other origins are never stored.
// Loop thread only (no locks: every call runs on the crawl's loop).

using Evergreen.Sync;

namespace Evergreen.Crawler;

/// <summary>
/// The crawl frontier: a FIFO of <see cref="FrontierEntry"/> with de-duplication of normalized
/// URLs, the depth and page limits, and the origin scope. Workers call <see cref="NextAsync"/> and
/// hand each page back with <see cref="Done"/>. Loop thread only.
/// </summary>
public sealed class Frontier
{
    private readonly AsyncQueue<FrontierEntry?> _queue = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Func<Uri, bool> _inScope;
    private int _queued;
    private bool _done;

    /// <summary>A frontier taking at most <paramref name="maxPages"/> URLs, links up to <paramref name="maxDepth"/>, on the hosts <paramref name="inScope"/> accepts.</summary>
    public Frontier(int maxPages, int maxDepth, Func<Uri, bool> inScope)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPages);
        ArgumentOutOfRangeException.ThrowIfNegative(maxDepth);
        MaxPages = maxPages;
        MaxDepth = maxDepth;
        _inScope = inScope;
    }

    /// <summary>How many URLs it takes in at most.</summary>
    public int MaxPages { get; }

    /// <summary>The deepest link it takes in (the start URL is depth 0).</summary>
    public int MaxDepth { get; }

    /// <summary>URLs taken in so far (never more than <see cref="MaxPages"/>; this is what stays in memory).</summary>
    public int Admitted => _seen.Count;

    /// <summary>URLs waiting for a worker.</summary>
    public int Queued => _queued;

    /// <summary>Pages handed to workers and not handed back yet.</summary>
    public int Busy { get; private set; }

    /// <summary>Links dropped because they lead to an origin outside the crawl (another scheme, host or port).</summary>
    public int OffSite { get; private set; }

    /// <summary>Links dropped because they are deeper than <see cref="MaxDepth"/>.</summary>
    public int TooDeep { get; private set; }

    /// <summary>New URLs dropped because <see cref="MaxPages"/> were already taken in.</summary>
    public int OverLimit { get; private set; }

    /// <summary>Whether the crawl is done: nothing queued and no page busy (or <see cref="Close"/> was called).</summary>
    public bool IsDone => _done;

    /// <summary>Whether <paramref name="url"/> (normalized) was taken in.</summary>
    public bool HasSeen(Uri url) => _seen.Contains(url.AbsoluteUri);

    /// <summary>
    /// Takes <paramref name="entry"/> in unless its URL was seen, it is off the allowed origins,
    /// deeper than <see cref="MaxDepth"/>, or <see cref="MaxPages"/> were taken already. Not a
    /// yield point.
    /// </summary>
    /// <returns>Whether it was queued.</returns>
    public bool TryAdd(FrontierEntry entry)
    {
        if (_done) return false;
        string key = entry.Url.AbsoluteUri;
        if (_seen.Contains(key)) return false;
        if (!_inScope(entry.Url))
        {
            OffSite++;
            return false;
        }
        if (entry.Depth > MaxDepth)
        {
            TooDeep++;
            return false;
        }
        if (_seen.Count >= MaxPages)
        {
            OverLimit++;
            return false;
        }
        _seen.Add(key);
        _queued++;
        _queue.TryPut(entry); // unbounded: never full
        return true;
    }

    /// <summary>As <see cref="TryAdd(FrontierEntry)"/>, for a link at <paramref name="depth"/>.</summary>
    public bool TryAdd(Uri url, int depth) => TryAdd(new FrontierEntry(url, depth));

    /// <summary>
    /// The next URL to crawl, waiting while the queue is empty and other workers are busy (their
    /// pages may add links); null once the crawl is done. Hand each entry back with
    /// <see cref="Done"/>. A yield point when it waits; a cancelled call takes no entry.
    /// </summary>
    public async ValueTask<FrontierEntry?> NextAsync()
    {
        if (_done) return null;
        if (_queued == 0 && Busy == 0)
        {
            Finish(); // nothing was ever added (the start URL was out of scope), or all is done
            return null;
        }
        var entry = await _queue.GetAsync();
        if (entry is null)
        {
            _queue.TryPut(null); // the done marker, back for the next worker
            return null;
        }
        _queued--;
        Busy++;
        return entry;
    }

    /// <summary>Hands back a page from <see cref="NextAsync"/>, its links already added. Not a yield point.</summary>
    public void Done(FrontierEntry entry)
    {
        if (Busy <= 0) throw new InvalidOperationException($"Frontier.Done was called for {entry.Url} with no page busy: each page from NextAsync is handed back once.");
        Busy--;
        if (Busy == 0 && _queued == 0 && !_done) Finish();
    }

    /// <summary>Ends the crawl now: nothing more is taken in, and waiting workers get null. Not a yield point.</summary>
    public void Close()
    {
        if (!_done) Finish();
    }

    private void Finish()
    {
        _done = true;
        _queue.TryPut(null);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Frontier ({Admitted} taken in, {_queued} queued, {Busy} busy{(_done ? ", done" : "")})";
}
