namespace Evergreen.Crawler;

/// <summary>What a crawl worker tasklet is doing (<see cref="Crawler.WorkersDoing"/> counts them; the live view shows it).</summary>
public enum WorkerActivity
{
    /// <summary>Waiting for a URL: the queue is empty and other workers' pages may add some.</summary>
    WaitingForUrl,

    /// <summary>Waiting for the origin's robots.txt (fetching it, or waiting for the worker that is).</summary>
    WaitingForRobots,

    /// <summary>Waiting for a fetch slot on the origin (<c>--per-host</c>) or for its <c>--delay</c>.</summary>
    WaitingForHostSlot,

    /// <summary>A request on the wire: connect, send, the response and its body.</summary>
    Fetching,

    /// <summary>Extracting a page's links, on the thread pool.</summary>
    Parsing,
}
