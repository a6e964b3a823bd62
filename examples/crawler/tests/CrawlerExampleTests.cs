using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Evergreen.Crawler;

namespace Evergreen.Tests;

/// <summary>examples/crawler as a user runs it: the built program, its demo site, a real SIGINT.</summary>
public partial class CrawlerExampleTests
{
    private const int SIGINT = 2;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signum);

    /// <summary>The crawler as built next to the tests (same configuration), found from the repository root.</summary>
    private static string CrawlerDll()
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory); // .../examples/crawler/tests/bin/<Config>/<tfm>/
        string tfm = testDir.Name, config = testDir.Parent!.Name;
        var root = testDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Evergreen.sln"))) root = root.Parent;
        Assert.NotNull(root);
        string dll = Path.Combine(root!.FullName, "examples", "crawler", "bin", config, tfm, "crawler.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: Crawler.Tests.csproj references the example so that dotnet test builds it; was that reference removed?");
        return dll;
    }

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [CrawlerDll(), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return Process.Start(start)!;
    }

    /// <summary>Runs to the end (at most a minute): exit code, stdout, stderr.</summary>
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"crawler {string.Join(' ', args)} did not finish within a minute");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string TempPath(string name) => Path.Combine(Path.GetTempPath(), $"evergreen-crawler-{Environment.ProcessId}-{Guid.NewGuid():N}-{name}");

    /// <summary>The JSONL's records as paths, each line checked to be one complete JSON object.</summary>
    private static List<string> ReadJsonl(string file)
    {
        string text = File.ReadAllText(file);
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "the JSONL ends in the middle of a line");
        var paths = new List<string>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
            paths.Add(new Uri(json.RootElement.GetProperty("url").GetString()!).PathAndQuery);
        }
        return paths;
    }

    [Fact]
    public void TheDemo_CrawlsTheWholeSite_WritesTheJsonl_AndPrintsTheSummary()
    {
        string output = TempPath("demo.jsonl");
        try
        {
            var (code, stdout, stderr) = Run("--output", output);
            Assert.True(code == 0, $"exit code {code}\n{stdout}\n{stderr}");
            Assert.StartsWith("Crawling http://127.0.0.1:", stdout);
            Assert.Contains($", the demo site: 3,000 content pages, {DemoSite.ExpectedPaths(3000).Count:N0} URLs in a full crawl.", stdout);
            Assert.Contains("64 worker tasklets, at most 64 fetches at once per origin. Ctrl-C stops.", stdout);
            Assert.Contains("Crawl done.", stdout);
            foreach (var label in new[] { "fetched:", "URLs/s", "errors:", "http 404 ×", "http 500 ×1", "redirect loop ×1", "fetch time:", "p50", "p99", "disallowed by robots.txt", "output:" })
            {
                Assert.Contains(label, stdout);
            }
            var paths = ReadJsonl(output);
            Assert.Equal(DemoSite.ExpectedPaths(3000).Order(StringComparer.Ordinal), paths.Order(StringComparer.Ordinal));
            Assert.Contains($"fetched:     {paths.Count:N0} URLs in ", stdout);
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public async Task CtrlC_MidCrawl_StopsGracefully_Exit130_WithEveryJsonlLineComplete()
    {
        string output = TempPath("interrupted.jsonl");
        // Two workers: the demo's slow pages then take seconds, so the crawl is surely still running.
        using var process = Start("--output", output, "--concurrency", "2");
        try
        {
            var stderr = process.StandardError.ReadToEndAsync();
            // The first progress line comes 2 s into the crawl, which then has seconds to go.
            var head = new System.Text.StringBuilder();
            string? line;
            while ((line = process.StandardOutput.ReadLine()) is not null && !line.StartsWith('[')) head.AppendLine(line);
            Assert.True(line is not null, $"the crawl ended before it could be interrupted: {head}");
            Assert.Contains(" URLs fetched (", line);
            int fetchedBeforeSignal = int.Parse(line![(line.IndexOf(']') + 1)..line.IndexOf(" URLs fetched (")].Trim(), System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Contains("; workers: ", line); // what the workers are doing, not "0 fetching"
            var stdout = process.StandardOutput.ReadToEndAsync();
            Assert.Equal(0, SendSignal(process.Id, SIGINT));
            Assert.True(process.WaitForExit(15_000), "the crawler did not stop within 15 s of SIGINT");
            string printed = await stdout, errors = await stderr;
            Assert.True(process.ExitCode == 130, $"exit code {process.ExitCode}\n{printed}\n{errors}");
            Assert.Contains("Crawl stopped.", printed);
            Assert.Contains("by Ctrl-C", printed);
            Assert.Contains("crawler: stopping", errors);
            var paths = ReadJsonl(output);
            // At least what the progress line had counted (a fixed floor failed on a loaded machine,
            // where 2 s of a two-worker crawl fetched only 32 URLs), and not the whole site.
            Assert.InRange(paths.Count, Math.Max(1, fetchedBeforeSignal), DemoSite.ExpectedPaths(3000).Count - 1);
            Assert.Equal(paths.Count, paths.Distinct().Count());
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            File.Delete(output);
        }
    }

    /// <summary>Waits (at most 30 s) for the process to end; its exit code, stdout and stderr.</summary>
    private static async Task<(int Code, string Out, string Err)> EndOf(Process process, Task<string> stdout, Task<string> stderr)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the crawler did not stop within 30 s of SIGINT");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A Ctrl-C stopped the crawl as promised: exit 130, the summary, a JSONL of complete lines.</summary>
    private static void AssertStoppedGracefully((int Code, string Out, string Err) run, string output, string when)
    {
        Assert.True(run.Code == 130 && run.Out.Contains("Crawl stopped.") && run.Err.Contains("crawler: stopping"),
            $"SIGINT {when}: exit code {run.Code}\nstdout: {run.Out}\nstderr: {run.Err}");
        Assert.True(File.Exists(output), $"SIGINT {when}: no {output}");
        var paths = ReadJsonl(output);
        Assert.Equal(paths.Count, paths.Distinct().Count());
    }

    [Fact]
    public async Task CtrlC_AtTheEarliest_StopsTheCrawl_Exit130_WithAValidJsonl()
    {
        // 1. The moment the crawler's own code shows (its output file appears): it must stop
        //    gracefully. (A handler installed late left SIGINT's default action there, which
        //    killed the process: no summary, a JSONL that was never written.)
        for (int round = 0; round < 3; round++)
        {
            string output = TempPath($"early-{round}.jsonl");
            using var process = Start("--output", output);
            try
            {
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (!File.Exists(output) && !process.HasExited && DateTime.UtcNow < deadline) await Task.Delay(1);
                Assert.True(File.Exists(output), $"the crawler never created {output}");
                Assert.Equal(0, SendSignal(process.Id, SIGINT));
                AssertStoppedGracefully(await EndOf(process, stdout, stderr), output, "as the output file appeared");
            }
            finally
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
                File.Delete(output);
            }
        }
        // 2. Right after the process starts. Before .NET runs the program's first line nothing of
        //    the crawler exists to catch SIGINT, and its default action ends the process (exit
        //    status 130, nothing written); from the program's first line on, it stops gracefully.
        for (int round = 0; round < 3; round++)
        {
            string output = TempPath($"at-start-{round}.jsonl");
            using var process = Start("--output", output);
            try
            {
                Assert.Equal(0, SendSignal(process.Id, SIGINT));
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                var run = await EndOf(process, stdout, stderr);
                if (File.Exists(output) || run.Out.Length > 0 || run.Err.Length > 0) AssertStoppedGracefully(run, output, "right after the start");
                else Assert.Equal(130, run.Code);
            }
            finally
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
                File.Delete(output);
            }
        }
    }

    /// <summary>The process whose command line starts with dotnet and holds <paramref name="marker"/>, or 0.</summary>
    private static int FindDotnetProcess(string marker)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (Path.GetFileName(argv[0]) == "dotnet" && argv.Contains(marker)) return pid;
            }
            catch (IOException)
            {
                // it ended meanwhile
            }
        }
        return 0;
    }

    [Fact]
    public async Task CtrlC_OnATerminal_ShowsTheStoppingLineInsideTheLiveView_NotAcrossIt()
    {
        // script(1) gives the crawler a pseudo-terminal for stdout and stderr, as a user's
        // terminal would: the live view runs. A line written to the terminal while the view
        // redraws lands inside its frame and breaks it; the stopping line must be drawn by the view.
        string output = TempPath("terminal.jsonl");
        var start = new ProcessStartInfo("script", ["-qfec", $"dotnet '{CrawlerDll()}' --concurrency 2 --output '{output}'", "/dev/null"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.Environment["TERM"] = "xterm-256color";
        using var script = Process.Start(start)!;
        try
        {
            var screen = new System.Text.StringBuilder();
            var reading = Task.Run(async () =>
            {
                var buffer = new char[4096];
                int n;
                while ((n = await script.StandardOutput.ReadAsync(buffer)) > 0)
                {
                    lock (screen) screen.Append(buffer, 0, n);
                }
            });
            var stderr = script.StandardError.ReadToEndAsync();
            int crawler = 0;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline && !script.HasExited)
            {
                bool live;
                lock (screen) live = screen.ToString().Contains("Evergreen crawler");
                if (live && (crawler = FindDotnetProcess(output)) != 0) break;
                await Task.Delay(20);
            }
            Assert.True(crawler != 0, $"the live view never showed: {screen}");
            Assert.Equal(0, SendSignal(crawler, SIGINT));
            var (code, _, _) = await EndOf(script, Task.FromResult(""), stderr);
            await reading;
            Assert.Equal(130, code);
            // The terminal's text: escape sequences out, each carriage return or newline a line.
            string text = System.Text.RegularExpressions.Regex.Replace(screen.ToString(), "\u001b\\[[0-9;?]*[A-Za-z]", "");
            var lines = text.Split('\n', '\r');
            var stoppingLines = lines.Where(l => l.Contains("crawler: stopping")).ToList();
            Assert.NotEmpty(stoppingLines);
            Assert.All(stoppingLines, l => Assert.StartsWith("│ crawler: stopping", l.TrimStart()));
            Assert.Contains(lines, l => l.Contains("Crawl stopped"));
            ReadJsonl(output);
        }
        finally
        {
            if (!script.HasExited) script.Kill(entireProcessTree: true);
            File.Delete(output);
        }
    }

    [Theory]
    [InlineData("--concurrency", "0", "--concurrency takes a whole number from 1 to 10000, not '0'")]
    [InlineData("--timeout", "soon", "--timeout takes seconds")]
    [InlineData("--max-depth", null, "--max-depth needs a value")]
    [InlineData("--allow-host", "a/b", "--allow-host takes [http:// or https://]HOST[:PORT]")]
    [InlineData("ftp://example.com/", null, "the start URL must be an http or https URL")]
    [InlineData("--frobnicate", null, "unknown option --frobnicate")]
    public void ABadCommandLine_IsAClearErrorWithExitCode2(string arg, string? value, string message)
    {
        var (code, _, stderr) = value is null ? Run(arg) : Run(arg, value);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
        Assert.Contains($"Run 'dotnet {CrawlerDll()} --help' for the options.", stderr); // how it was run
    }

    [Fact]
    public void Help_ListsTheOptions()
    {
        var (code, stdout, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--concurrency", "--per-host", "--max-depth", "--max-pages", "--allow-host", "--delay", "--timeout", "--user-agent", "--no-robots", "--output" })
        {
            Assert.Contains(option, stdout);
        }
    }

    [Fact]
    public void WriteStaticSite_WritesTheFiles_AndListsThePathsACrawlMustFetch()
    {
        string directory = TempPath("site");
        try
        {
            var (code, stdout, stderr) = Run("--write-static-site", directory, "--demo-pages", "120");
            Assert.True(code == 0, stderr);
            var listed = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(DemoSite.ExpectedStaticPaths(120).Order(StringComparer.Ordinal), listed);
            Assert.True(File.Exists(Path.Combine(directory, "index.html")));
            Assert.True(File.Exists(Path.Combine(directory, "robots.txt")));
            Assert.True(File.Exists(Path.Combine(directory, "s", "2", "p19.html")));
            Assert.False(File.Exists(Path.Combine(directory, "s", "2", "p20.html"))); // 120 pages: 50 + 50 + 20
            Assert.True(File.Exists(Path.Combine(directory, "private", "a.html"))); // there, but robots.txt says no
            Assert.Contains(stderr.Trim(), $"crawler: wrote a 120-page static site to {directory}; a crawl of it fetches {listed.Length} URLs (listed on stdout)");
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }
}
