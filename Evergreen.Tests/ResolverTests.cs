using System.Net;
using System.Net.Sockets;
using Evergreen.IO;
using Evergreen.Native;
using Xunit.Abstractions;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// Every lookup here is answered from /etc/hosts or is an IP literal, except the *.invalid name
// (RFC 6761: never resolves). glibc still asks the configured DNS server about it, so with no
// network that test may wait for the resolver's own timeout: it bounds the wait with a scope and
// accepts either an EAI_* error or the timeout.
public class ResolverTests(ITestOutputHelper output)
{
    private const string Unresolvable = "no.such.host.invalid";

    [Fact]
    public void ResolveAsync_Localhost_IPv4_ReturnsLoopbackAddresses()
    {
        Run(async () =>
        {
            var addresses = await Resolver.ResolveAsync("localhost", AddressFamily.InterNetwork);
            Assert.NotEmpty(addresses);
            Assert.All(addresses, a => Assert.Equal(AddressFamily.InterNetwork, a.AddressFamily));
            Assert.All(addresses, a => Assert.True(IPAddress.IsLoopback(a), $"{a} is not a loopback address"));
            Assert.Equal(addresses.Length, addresses.Distinct().Count());
        });
    }

    [Fact]
    public void ResolveAsync_Localhost_AnyFamily_IncludesTheIPv4Loopback()
    {
        Run(async () =>
        {
            var addresses = await Resolver.ResolveAsync("localhost");
            Assert.Contains(IPAddress.Loopback, addresses);
            Assert.Equal(addresses.Length, addresses.Distinct().Count());
        });
    }

    [Fact]
    public void ResolveAsync_Localhost_IPv6_ReturnsLoopback_WhenTheHostNamesOne()
    {
        if (!Socket.OSSupportsIPv6)
        {
            output.WriteLine("skipped: this host has no IPv6");
            return;
        }
        Run(async () =>
        {
            // Whether "localhost" has an IPv6 address is the host's configuration (/etc/hosts may
            // name only 127.0.0.1, and then glibc asks DNS): bounded, and either answer is fine.
            IPAddress[]? addresses = null;
            UvException? error = null;
            bool done = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), async () =>
            {
                try { addresses = await Resolver.ResolveAsync("localhost", AddressFamily.InterNetworkV6); }
                catch (UvException e) { error = e; }
            });
            if (addresses is null)
            {
                output.WriteLine($"skipped: localhost has no IPv6 address here ({(done ? error!.Message : "the lookup timed out")})");
                if (error is not null) Assert.StartsWith("EAI_", error.ErrorName);
                return;
            }
            Assert.NotEmpty(addresses);
            Assert.All(addresses, a => Assert.Equal(AddressFamily.InterNetworkV6, a.AddressFamily));
            Assert.All(addresses, a => Assert.True(IPAddress.IsLoopback(a) || a.Equals(IPAddress.Loopback.MapToIPv6()), $"{a} is not a loopback address"));
        });
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("192.0.2.7")]
    [InlineData("fe80::1%1")]
    public async Task ResolveAsync_IPLiteral_ReturnsItAtOnce_WithoutALoop(string literal)
    {
        Assert.Null(EventLoop.t_current);
        var pending = Resolver.ResolveAsync(literal);
        Assert.True(pending.IsCompletedSuccessfully);
        Assert.Equal([IPAddress.Parse(literal)], await pending);
        var filtered = Resolver.ResolveAsync(literal, IPAddress.Parse(literal).AddressFamily);
        Assert.True(filtered.IsCompletedSuccessfully);
    }

    [Fact]
    public void ResolveAsync_FamilyFilter_IPv4Only_And_AnIPv4LiteralAskedAsIPv6_IsAResolverError()
    {
        Run(async () =>
        {
            foreach (var a in await Resolver.ResolveAsync("localhost", AddressFamily.InterNetwork))
            {
                Assert.Equal(AddressFamily.InterNetwork, a.AddressFamily);
            }
            // A literal of the other family goes to getaddrinfo, which refuses it.
            var e = await Assert.ThrowsAsync<UvException>(async () => await Resolver.ResolveAsync("127.0.0.1", AddressFamily.InterNetworkV6));
            Assert.StartsWith("EAI_", e.ErrorName);
            Assert.Contains("getaddrinfo for 127.0.0.1", e.Message);
        });
    }

    [Fact]
    public void ResolveAsync_NameThatCannotResolve_IsAnEaiErrorNamingTheHost_OrTimesOutWithoutDns()
    {
        Run(async () =>
        {
            UvException? error = null;
            bool done = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), async () =>
            {
                error = await Assert.ThrowsAsync<UvException>(async () => await Resolver.ResolveAsync(Unresolvable));
            });
            if (!done)
            {
                output.WriteLine("the system resolver did not answer within 5 s (no reachable DNS server): the timeout is the accepted outcome");
                return;
            }
            Assert.NotNull(error);
            Assert.StartsWith("EAI_", error.ErrorName);
            Assert.Equal("getaddrinfo", error.Operation);
            Assert.Equal(Unresolvable, error.Target);
            Assert.StartsWith($"{error.ErrorName} in getaddrinfo for {Unresolvable} (", error.Message);
            output.WriteLine(error.Message);
        });
    }

    [Fact]
    public void ResolveAsync_KilledWhileWaiting_EndsAtOnce_AndTheNativeRequestIsFreedByItsCallback()
    {
        Run(async () =>
        {
            int before = DnsRequests.Outstanding;
            var resolving = Tasklet.Spawn(() => Resolver.ResolveAsync(Unresolvable).AsTask(), "resolving");
            await Tasklet.WaitAllParkedAsync(); // it starts the lookup and parks
            Assert.Equal(TaskletState.Parked, resolving.State);
            Assert.Contains("getaddrinfo of 'no.such.host.invalid'", resolving.WaitingOn);
            Assert.Equal(before + 1, DnsRequests.Outstanding);
            resolving.Kill();
            Assert.True(await resolving.JoinAsync());
            Assert.Equal(TaskletState.Killed, resolving.State);
            await WaitForCallbacks(before);
            // The pooled node is whole again: the next lookups work.
            Assert.Contains(IPAddress.Loopback, await Resolver.ResolveAsync("localhost"));
            Assert.Equal(before, DnsRequests.Outstanding);
        });
    }

    [Fact]
    public void DisposingTheLoop_WhileALookupWaits_KillsTheWaiter_AndWaitsForTheCallback()
    {
        int before = DnsRequests.Outstanding;
        var loop = new EventLoop();
        var reports = new List<LoopExceptionEventArgs>();
        loop.UnhandledException += (_, e) => reports.Add(e);
        Tasklet resolving;
        try
        {
            resolving = loop.Spawn(() => Resolver.ResolveAsync(Unresolvable).AsTask(), "resolving");
            loop.Spawn(async () =>
            {
                await Tasklet.Yield();
                loop.Stop(); // leave the lookup parked
            });
            loop.Run();
            Assert.Equal(TaskletState.Parked, resolving.State);
            Assert.Equal(before + 1, DnsRequests.Outstanding);
        }
        finally
        {
            loop.Dispose();
        }
        Assert.Equal(TaskletState.Killed, resolving.State);
        Assert.Equal(before, DnsRequests.Outstanding);
        Assert.Equal(0, loop.HandleCount);
        Assert.Empty(reports);
    }

    [Fact]
    public void ResolveAsync_InAnExpiredScope_ThrowsTimeout_AndLeavesNothingBehind()
    {
        Run(async () =>
        {
            int before = DnsRequests.Outstanding;
            using (var scope = CancelScope.FailAfter(TimeSpan.Zero))
            {
                await Assert.ThrowsAsync<TimeoutException>(async () => await Resolver.ResolveAsync("localhost"));
            }
            await WaitForCallbacks(before);
        });
    }

    [Fact]
    public void ResolveAsync_ManyAtOnce_SomeKilled_TheOthersAllAnswer()
    {
        Run(async () =>
        {
            int before = DnsRequests.Outstanding;
            var lookups = Enumerable.Range(0, 40)
                .Select(i => Tasklet.Spawn(async () => (await Resolver.ResolveAsync("localhost", AddressFamily.InterNetwork))[0], $"lookup {i}"))
                .ToList();
            await Tasklet.Yield();
            for (int i = 0; i < lookups.Count; i += 3) lookups[i].Kill();
            for (int i = 0; i < lookups.Count; i++)
            {
                if (i % 3 == 0)
                {
                    await Assert.ThrowsAsync<TaskletKilledException>(async () => await lookups[i]);
                }
                else
                {
                    Assert.True(IPAddress.IsLoopback(await lookups[i]));
                }
            }
            await WaitForCallbacks(before);
        });
    }

    [Fact]
    public void ReverseAsync_Of127001_NamesAHostThatResolvesBackToIt()
    {
        Run(async () =>
        {
            string name = await Resolver.ReverseAsync(IPAddress.Loopback);
            output.WriteLine($"127.0.0.1 is '{name}'");
            Assert.False(string.IsNullOrEmpty(name));
            Assert.Contains(IPAddress.Loopback, await Resolver.ResolveAsync(name, AddressFamily.InterNetwork));
        });
    }

    [Fact]
    public void ResolveAsync_Misuse_IsAClearError()
    {
        Assert.Throws<ArgumentNullException>(() => Resolver.ResolveAsync(null!));
        Assert.Throws<ArgumentException>(() => Resolver.ResolveAsync(""));
        Assert.Throws<ArgumentException>(() => Resolver.ResolveAsync("a\0b"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Resolver.ResolveAsync("localhost", AddressFamily.Unix));
        Assert.Throws<ArgumentNullException>(() => Resolver.ReverseAsync(null!));
        using var loop = new EventLoop();
        var e = Assert.Throws<InvalidOperationException>(() => Resolver.ResolveAsync("localhost"));
        Assert.Contains("Resolver.ResolveAsync parks the current tasklet", e.Message);
        Assert.Throws<InvalidOperationException>(() => Resolver.ReverseAsync(IPAddress.Loopback));
        Assert.Equal(0, DnsRequests.Outstanding);
    }

    [Fact]
    public void ResolveAsync_WhileTheTaskletAlreadyWaits_IsAClearError_AndTheStartedLookupIsFreedByItsCallback()
    {
        Run(async () =>
        {
            int before = DnsRequests.Outstanding;
            var pending = Offload.RunAsync(() => 1); // the tasklet's park, not awaited yet
            var e = Assert.Throws<InvalidOperationException>(() => Resolver.ResolveAsync("localhost"));
            Assert.Contains("already waiting", e.Message);
            Assert.Equal(1, await pending);
            await WaitForCallbacks(before); // the lookup had started: its callback frees it
            Assert.Contains(IPAddress.Loopback, await Resolver.ResolveAsync("localhost", AddressFamily.InterNetwork)); // the node is reusable
            await WaitForCallbacks(before);
        });
    }

    /// <summary>Waits (bounded) until every lookup this thread started has had its callback.</summary>
    private static async Task WaitForCallbacks(int outstanding)
    {
        using (CancelScope.FailAfter(TimeSpan.FromSeconds(40)))
        {
            while (DnsRequests.Outstanding > outstanding) await Tasklet.Sleep(Ms(2));
        }
        Assert.Equal(outstanding, DnsRequests.Outstanding);
    }
}
