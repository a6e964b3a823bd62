using System.Globalization;
using Spectre.Console;

namespace Evergreen.Crawler;

/// <summary>The summary printed when a crawl ends: pages, errors by kind, p50/p99 fetch time, pages/s, wall time.</summary>
public static class CrawlSummary
{
    /// <summary>The summary as (label, text) rows, in the order shown.</summary>
    public static IReadOnlyList<(string Label, string Text)> Rows(Crawler crawler, string? outputPath)
    {
        var stats = crawler.Stats;
        var frontier = crawler.Frontier;
        var inv = CultureInfo.InvariantCulture;
        var rows = new List<(string, string)>
        {
            ("fetched", string.Format(inv, "{0:N0} URLs in {1:0.00} s: {2:N0} URLs/s, {3}", stats.Pages, stats.Elapsed.TotalSeconds, stats.PagesPerSecond, Size(stats.Bytes))),
            ("errors", stats.Errors == 0 ? "none" : string.Format(inv, "{0:N0}: {1}", stats.Errors,
                string.Join(", ", stats.ErrorsByKind.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key} ×{e.Value}")))),
            ("fetch time", string.Format(inv, "p50 {0:0.0} ms, p99 {1:0.0} ms", stats.FetchPercentile(50), stats.FetchPercentile(99))),
            ("not fetched", string.Format(inv, "{0:N0} disallowed by robots.txt, {1:N0} off-site links, {2:N0} links past --max-depth, {3:N0} links over --max-pages",
                crawler.Hosts.Disallowed, frontier.OffSite, frontier.TooDeep, frontier.OverLimit)),
        };
        if (crawler.WasCanceled)
        {
            int cancelled = stats.ErrorsByKind.GetValueOrDefault(CrawlErrors.Canceled);
            rows.Add(("stopped", string.Format(inv, "by Ctrl-C: {0:N0} {1} cancelled, {2:N0} URLs left in the queue", cancelled, cancelled == 1 ? "fetch" : "fetches", frontier.Queued)));
        }
        if (outputPath is not null) rows.Add(("output", string.Format(inv, "{0} ({1:N0} records)", outputPath, stats.Pages)));
        return rows;
    }

    /// <summary>Prints the summary: a Spectre table on a terminal (<paramref name="fancy"/>), plain "label: text" lines otherwise.</summary>
    public static void Print(Crawler crawler, string? outputPath, bool fancy)
    {
        var rows = Rows(crawler, outputPath);
        if (!fancy)
        {
            Console.WriteLine(crawler.WasCanceled ? "Crawl stopped." : "Crawl done.");
            foreach (var (label, text) in rows) Console.WriteLine($"  {label + ":",-13}{text}");
            return;
        }
        var table = new Table().RoundedBorder().BorderColor(crawler.WasCanceled ? Color.Yellow : Color.Green)
            .Title(crawler.WasCanceled ? "[yellow bold]Crawl stopped[/]" : "[green bold]Crawl done[/]")
            .AddColumn(new TableColumn("").PadRight(1))
            .AddColumn(new TableColumn(""))
            .HideHeaders();
        foreach (var (label, text) in rows) table.AddRow(new Markup($"[grey]{label}[/]"), new Markup(Markup.Escape(text)));
        AnsiConsole.Write(table);
    }

    private static string Size(long bytes) => bytes switch
    {
        < 10 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 10 * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.0} MiB"),
    };
}
