// The plain-.NET baseline crawler of bench/crawl: options, the run, the summary line.
//
//   baseline-crawler URL [--concurrency N] [--per-host N] [--max-depth N] [--max-pages N]
//                        [--allow-host [SCHEME://]HOST[:PORT]]... [--timeout SEC] [--user-agent UA]
//                        [--no-robots] [--output FILE.jsonl]
//
// The options mean what they mean for examples/crawler, so that bench/crawl/run can give both
// crawlers the same command line. Exit 0 when the crawl ran (failed fetches are records, not a
// failure), 2 for bad options.
using System.Diagnostics;
using System.Globalization;
using BaselineCrawler;

CrawlSettings settings;
try
{
    settings = CrawlSettings.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"baseline-crawler: {e.Message}");
    Console.Error.WriteLine(CrawlSettings.Usage);
    return 2;
}
if (settings.Help)
{
    Console.WriteLine(CrawlSettings.Usage);
    return 0;
}

var clock = Stopwatch.StartNew();
var crawl = new BaselineCrawl(settings);
var result = await crawl.RunAsync();
double seconds = clock.Elapsed.TotalSeconds;

var inv = CultureInfo.InvariantCulture;
var errors = string.Join(", ", result.ErrorsByKind.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}: {e.Value}"));
Console.WriteLine(string.Create(inv,
    $"baseline: {result.Pages} pages in {seconds:F2} s ({result.Pages / Math.Max(seconds, 1e-9):F0} pages/s), " +
    $"{result.Errors} errors{(errors.Length > 0 ? $" ({errors})" : "")}, p50 {result.P50Ms:F1} ms, p99 {result.P99Ms:F1} ms"));
return 0;
