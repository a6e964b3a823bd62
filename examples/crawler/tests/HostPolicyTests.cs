using Evergreen.Crawler;
using Evergreen.Sync;

namespace Evergreen.Tests;

/// <summary>examples/crawler's per-origin politeness: concurrency, delay, robots.txt once.</summary>
public class HostPolicyTests
{
    [Fact]
    public void EnterAsync_BoundsFetchesPerOrigin_NotAcrossOrigins()
    {
        TestLoop.Run(async () =>
        {
            var policy = new HostPolicy(perHost: 3, TimeSpan.Zero, fetchRobots: null);
            int inA = 0, maxA = 0, inB = 0, maxB = 0;
            await using (var group = new TaskGroup())
            {
                for (int i = 0; i < 10; i++)
                {
                    bool a = i % 2 == 0;
                    group.Spawn(async () =>
                    {
                        using (await policy.EnterAsync(new Uri(a ? "http://a.test/x" : "http://b.test:8080/y")))
                        {
                            if (a) maxA = Math.Max(maxA, ++inA); else maxB = Math.Max(maxB, ++inB);
                            await Tasklet.Yield();
                            await Tasklet.Yield();
                            if (a) inA--; else inB--;
                        }
                    });
                }
            }
            Assert.Equal(3, maxA);
            Assert.Equal(3, maxB);
            Assert.Equal(2, policy.OriginCount);
        });
    }

    [Fact]
    public void EnterAsync_SpacesRequestStartsToOneOriginByTheDelay()
    {
        TestLoop.Run(async loop =>
        {
            // The starts the policy stamped, not loop.Time read after each await resumes: that
            // one can be later than the stamp by any scheduling delay (a loaded machine), which
            // made the gaps between the callers' readings look shorter than the delay.
            var policy = new HostPolicy(perHost: 4, TimeSpan.FromMilliseconds(30), fetchRobots: null);
            var starts = new List<double>();
            policy.Started = starts.Add;
            int entered = 0;
            await using (var group = new TaskGroup())
            {
                for (int i = 0; i < 4; i++)
                {
                    group.Spawn(async () =>
                    {
                        using (await policy.EnterAsync(new Uri("http://a.test/")))
                        {
                            entered++;
                        }
                    });
                }
            }
            Assert.Equal(4, entered);
            Assert.Equal(4, starts.Count);
            starts.Sort();
            for (int i = 1; i < starts.Count; i++) Assert.True(starts[i] - starts[i - 1] >= 0.030 - 1e-9, $"starts {string.Join(", ", starts)}");
        });
    }

    [Fact]
    public void RobotsTxt_IsFetchedOncePerOrigin_WhileConcurrentFirstRequestsWait()
    {
        TestLoop.Run(async () =>
        {
            var fetched = new List<Uri>();
            var answer = new AsyncEvent();
            var policy = new HostPolicy(8, TimeSpan.Zero, async url =>
            {
                fetched.Add(url);
                await answer.WaitAsync();
                return RobotsTxt.Parse("User-agent: *\nDisallow: /private/\n", "bot");
            });
            var results = new Dictionary<string, bool>();
            await using (var group = new TaskGroup())
            {
                foreach (var path in new[] { "/a", "/private/b", "/c", "/private/d" })
                {
                    group.Spawn(async () => results[path] = await policy.IsAllowedAsync(new Uri("http://site.test" + path)));
                }
                await Tasklet.Yield();
                Assert.Single(fetched);
                Assert.Empty(results);
                answer.Set();
            }
            Assert.Equal([new Uri("http://site.test/robots.txt")], fetched);
            Assert.Equal(new Dictionary<string, bool> { ["/a"] = true, ["/private/b"] = false, ["/c"] = true, ["/private/d"] = false }, results);
            Assert.Equal(2, policy.Disallowed);
            Assert.True(await policy.IsAllowedAsync(new Uri("http://site.test/e"))); // known now: no second fetch
            Assert.Single(fetched);
            Assert.False(await policy.IsAllowedAsync(new Uri("http://other.test/private/")));
            Assert.Equal(2, fetched.Count);
            Assert.Equal(2, policy.RobotsFetches);
        });
    }

    [Fact]
    public void AKilledRobotsFetch_LetsAWaitingRequestFetchItAgain()
    {
        TestLoop.Run(async () =>
        {
            int calls = 0;
            var policy = new HostPolicy(8, TimeSpan.Zero, async url =>
            {
                if (++calls == 1) await Tasklet.Sleep(TimeSpan.FromHours(1)); // killed below
                return RobotsTxt.AllowAll;
            });
            var first = Tasklet.Spawn(async () => await policy.IsAllowedAsync(new Uri("http://site.test/a")));
            var second = Tasklet.Spawn(async () => await policy.IsAllowedAsync(new Uri("http://site.test/b")));
            await Tasklet.Yield();
            first.Kill();
            Assert.True(await second);
            Assert.Equal(2, calls);
            await first.JoinAsync();
            Assert.Equal(TaskletState.Killed, first.State);
        });
    }

    [Fact]
    public void WithoutRobots_EverythingIsAllowed_WithoutAFetch()
    {
        TestLoop.Run(async () =>
        {
            var policy = new HostPolicy(1, TimeSpan.Zero, fetchRobots: null);
            Assert.True(await policy.IsAllowedAsync(new Uri("http://site.test/private/")));
            Assert.Equal(0, policy.RobotsFetches);
            Assert.Null(policy.RobotsFor(new Uri("http://site.test/")));
        });
    }
}
