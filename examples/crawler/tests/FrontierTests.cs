using Evergreen.Crawler;
using Evergreen.Sync;

namespace Evergreen.Tests;

/// <summary>examples/crawler's frontier: de-duplication, limits, and knowing when the crawl is done.</summary>
public class FrontierTests
{
    private static Uri U(string path) => new("http://site.test" + path);

    private static Frontier OnSite(int maxPages = 100, int maxDepth = 5) => new(maxPages, maxDepth, url => url.Host == "site.test");

    [Fact]
    public void TryAdd_TakesEachUrlOnce_AndNothingOffSiteOrTooDeep()
    {
        TestLoop.Run(async () =>
        {
            var frontier = OnSite(maxDepth: 2);
            Assert.True(frontier.TryAdd(U("/a"), 0));
            Assert.False(frontier.TryAdd(U("/a"), 1));
            Assert.False(frontier.TryAdd(new Uri("http://other.test/a"), 1));
            Assert.False(frontier.TryAdd(U("/deep"), 3));
            Assert.True(frontier.TryAdd(U("/b"), 2));
            Assert.True(frontier.TryAdd(U("/deep"), 2)); // too deep before is no reason to refuse it at a lower depth
            Assert.Equal(3, frontier.Admitted);
            Assert.Equal(3, frontier.Queued);
            Assert.Equal(1, frontier.OffSite);
            Assert.Equal(1, frontier.TooDeep);
            Assert.True(frontier.HasSeen(U("/a")));
            Assert.False(frontier.HasSeen(new Uri("http://other.test/a")));

            var first = await frontier.NextAsync();
            Assert.Equal(U("/a"), first!.Url);
            Assert.Equal(0, first.Depth);
            Assert.Equal(1, frontier.Busy);
            frontier.Done(first);
            Assert.Equal(U("/b"), (await frontier.NextAsync())!.Url); // FIFO
            await Task.CompletedTask;
        });
    }

    [Fact]
    public void OnATrap_MemoryStaysBounded_AtMaxPagesUrls()
    {
        TestLoop.Run(async () =>
        {
            var frontier = OnSite(maxPages: 50, maxDepth: int.MaxValue);
            for (int i = 0; i < 100_000; i++) frontier.TryAdd(U($"/trap/{i}"), i);
            Assert.Equal(50, frontier.Admitted);
            Assert.Equal(50, frontier.Queued);
            Assert.Equal(100_000 - 50, frontier.OverLimit);
            Assert.False(frontier.HasSeen(U("/trap/50"))); // dropped, not remembered
            await Task.CompletedTask;
        });
    }

    [Fact]
    public void Workers_WaitWhileAPageIsBusy_ThenAllGetNull_WhenItAddsNothing()
    {
        TestLoop.Run(async () =>
        {
            var frontier = OnSite();
            frontier.TryAdd(U("/"), 0);
            var log = new List<string>();
            var release = new AsyncEvent();
            await using (var workers = new TaskGroup("workers"))
            {
                for (int w = 0; w < 3; w++)
                {
                    int id = w;
                    workers.Spawn(async () =>
                    {
                        while (await frontier.NextAsync() is { } page)
                        {
                            log.Add($"{id} took {page.Url.AbsolutePath}");
                            await release.WaitAsync(); // busy with the page: the others must wait, not quit
                            frontier.Done(page);
                        }
                        log.Add($"{id} done");
                    });
                }
                await Tasklet.Yield();
                Assert.Equal(["0 took /"], log);
                Assert.False(frontier.IsDone);
                release.Set();
            }
            Assert.Equal(["0 took /", "0 done", "1 done", "2 done"], log.Take(1).Concat(log.Skip(1).Order()));
            Assert.True(frontier.IsDone);
            Assert.Null(await frontier.NextAsync());
        });
    }

    [Fact]
    public void ABusyPagesLinks_WakeAWaitingWorker()
    {
        TestLoop.Run(async () =>
        {
            var frontier = OnSite();
            frontier.TryAdd(U("/"), 0);
            var taken = new List<string>();
            await using (var workers = new TaskGroup("workers"))
            {
                for (int w = 0; w < 2; w++)
                {
                    workers.Spawn(async () =>
                    {
                        while (await frontier.NextAsync() is { } page)
                        {
                            taken.Add(page.Url.AbsolutePath);
                            if (page.Depth == 0)
                            {
                                frontier.TryAdd(U("/child1"), 1);
                                frontier.TryAdd(U("/child2"), 1);
                                await Tasklet.Yield(); // the other worker takes child1 meanwhile
                            }
                            frontier.Done(page);
                        }
                    });
                }
            }
            Assert.Equal(["/", "/child1", "/child2"], taken);
            Assert.Equal(3, frontier.Admitted);
        });
    }

    [Fact]
    public void AnEmptyStart_IsDoneAtOnce_AndCloseReleasesWaitingWorkers()
    {
        TestLoop.Run(async () =>
        {
            var empty = OnSite();
            Assert.False(empty.TryAdd(new Uri("http://elsewhere.test/"), 0));
            Assert.Null(await empty.NextAsync());
            Assert.True(empty.IsDone);

            var frontier = OnSite();
            frontier.TryAdd(U("/"), 0);
            var page = await frontier.NextAsync();
            var waiter = Tasklet.Spawn(async () => await frontier.NextAsync());
            await Tasklet.Yield();
            Assert.False(waiter.IsDone);
            frontier.Close();
            Assert.Null(await waiter);
            Assert.False(frontier.TryAdd(U("/late"), 1));
            frontier.Done(page!);
            var error = Assert.Throws<InvalidOperationException>(() => frontier.Done(page!));
            Assert.Contains("handed back once", error.Message);
        });
    }
}
