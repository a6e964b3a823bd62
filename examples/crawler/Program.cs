// The Evergreen crawler: a polite, concurrent web crawler on one loop thread.
//
//   dotnet run --project examples/crawler                      crawl the built-in demo site
//   dotnet run --project examples/crawler -- URL [options]     crawl a site (--help for the options)
//
// With no URL, a generated demo site is served on 127.0.0.1 by the same process and loop, and
// crawled. Ctrl-C stops the crawl gracefully (exit code 130): fetches in flight are cancelled
// and recorded as such, the JSONL output is complete, the summary is printed. A second Ctrl-C
// quits at once.

using Evergreen;
using Evergreen.Crawler;

var options = CrawlOptions.Parse(args, out string? error);
if (options is null)
{
    if (error is null)
    {
        Console.WriteLine(CrawlOptions.Usage);
        return 0;
    }
    Console.Error.WriteLine($"crawler: {error}");
    Console.Error.WriteLine($"Run '{CommandName.Current} --help' for the options.");
    return 2;
}

if (options.WriteStaticSite is { } directory)
{
    // bench/crawl and the nginx test: the static site on disk, the paths a crawl must fetch on stdout.
    var expected = DemoSite.WriteStaticSite(directory, options.DemoPages);
    foreach (var path in expected.Order(StringComparer.Ordinal)) Console.WriteLine(path);
    Console.Error.WriteLine($"crawler: wrote a {options.DemoPages}-page static site to {directory}; a crawl of it fetches {expected.Count} URLs (listed on stdout)");
    return 0;
}

return EventLoop.Run(() => CrawlAsync(options));

static async Task<int> CrawlAsync(CrawlOptions options)
{
    // Ctrl-C is watched before anything else is done. Until the loop's handler is installed,
    // SIGINT reaches the .NET runtime's, which ends the process at once: no summary, and an output
    // file created but never written (that was the "early Ctrl-C" bug). A Ctrl-C while the demo
    // site or the output is being set up now stops the crawl before it begins. (The first use of
    // Console installs .NET's own SIGINT handler over libuv's; with no PosixSignalRegistration it
    // puts libuv's back and re-raises the signal, so the loop still gets it.)
    Crawler? crawler = null;
    JsonlWriter? output = null;
    ProgressView? view = null;
    int interrupts = 0;
    var onInterrupt = EventLoop.Current.AddSignalHandler(2, () => // SIGINT
    {
        if (++interrupts == 1)
        {
            string line = $"crawler: stopping, cancelling {Fetches(crawler?.ActiveFetches ?? 0)} in flight (Ctrl-C again quits at once)";
            // On the terminal the live view shows it inside its frame: a line written to the
            // terminal while the view redraws itself lands inside the frame and breaks it.
            view?.ShowStopping(line);
            if (view is not { IsLive: true } || Console.IsErrorRedirected) Console.Error.WriteLine(line);
            crawler?.Cancel();
        }
        else
        {
            output?.Dispose();
            if (view is { IsLive: true }) Console.Out.Write("\u001b[?25h\n"); // the live view hides the cursor
            Environment.Exit(130);
        }
    });
    try
    {
        bool terminal = !Console.IsOutputRedirected;
        await using var demo = options.StartUrl is null ? new DemoSite(options.DemoPages) : null;
        if (demo is not null)
        {
            demo.Start();
            options.StartUrl = demo.RootUrl;
            options.IsDemo = true;
        }

        if (options.OutputPath is { } outputPath)
        {
            try
            {
                output = JsonlWriter.Create(outputPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"crawler: cannot write {outputPath}: {e.Message}");
                return 1;
            }
        }

        using (output)
        {
            int? demoUrls = demo?.ExpectedUrls(options.MaxDepth, options.ObeyRobots, options.MaxRedirects).Count;
            Console.WriteLine(ProgressView.Header(options, demoUrls));

            crawler = new Crawler(options, output, onRecord: record => view?.Add(record));
            if (interrupts > 0) crawler.Cancel(); // Ctrl-C came while the crawl was being set up
            view = ProgressView.Start(crawler, options.StartUrl!.ToString(), live: terminal, plain: Console.Out);
            try
            {
                await crawler.RunAsync();
            }
            finally
            {
                await view.DisposeAsync();
            }
            CrawlSummary.Print(crawler, options.OutputPath, fancy: terminal);
            return crawler.WasCanceled ? 130 : 0;
        }
    }
    finally
    {
        onInterrupt.Cancel();
    }
}

static string Fetches(int n) => n == 1 ? "1 fetch" : $"{n:N0} fetches";
