using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>AsyncSelect: Go's select over AsyncChannels: exactly one branch fires, the others leave no trace.</summary>
public class AsyncSelectTests
{
    [Fact]
    public void ReadyReceive_Fires_AndTheSendBranchSendsNothing()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<int>(1);
            var b = new AsyncChannel<int>();
            await a.SendAsync(5);
            int got = 0;
            bool sent = false;
            int fired = await new AsyncSelect().OnSend(b, 42, () => sent = true).OnReceive(a, v => got = v).WaitAsync();
            Assert.Equal(1, fired);
            Assert.Equal(5, got);
            Assert.False(sent);
            Assert.Equal(0, b.WaitingSenders + a.WaitingReceivers);
            Assert.False(b.TryReceive(out _));
        });
    }

    [Fact]
    public void ReadySend_Fires_WhenAReceiverWaits()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<int>();
            var b = new AsyncChannel<int>();
            var receiver = Tasklet.Spawn(async () => await b.ReceiveAsync());
            await Tasklet.Yield();
            bool sent = false;
            int fired = await new AsyncSelect().OnReceive(a, _ => Assert.Fail("nothing to receive")).OnSend(b, 42, () => sent = true).WaitAsync();
            Assert.Equal(1, fired);
            Assert.True(sent);
            Assert.Equal(42, await receiver);
            Assert.Equal(0, a.WaitingReceivers);
        });
    }

    [Fact]
    public void SeveralReady_TheFirstAddedFires()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<string>(1);
            var b = new AsyncChannel<string>(1);
            await a.SendAsync("a");
            await b.SendAsync("b");
            var got = new List<string>();
            var select = new AsyncSelect().OnReceive(b, got.Add).OnReceive(a, got.Add);
            Assert.Equal(0, await select.WaitAsync());
            Assert.Equal(1, await select.WaitAsync()); // a select can be awaited again
            Assert.Equal(["b", "a"], got);
        });
    }

    [Fact]
    public void Default_FiresWhenNothingIsReady_WithoutWaitingOrTouchingTheChannels()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<int>();
            var b = new AsyncChannel<int>(1);
            await b.SendAsync(1);                       // full: the send branch is not ready
            bool defaulted = false;
            var wait = new AsyncSelect().OnReceive(a, _ => { }).OnSend(b, 2).OnDefault(() => defaulted = true).WaitAsync();
            Assert.True(wait.IsCompletedSuccessfully);  // not a yield point
            Assert.Equal(2, wait.Result);
            Assert.True(defaulted);
            Assert.Equal(0, a.WaitingReceivers + b.WaitingSenders);
            Assert.Equal(1, await b.ReceiveAsync());
            Assert.False(b.TryReceive(out _));
            Assert.Equal(0, await new AsyncSelect().OnDefault().WaitAsync());
        });
    }

    [Fact]
    public void Timeout_FiresWhenNothingHappens_AndLeavesNoWaiter()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<int>();
            var b = new AsyncChannel<int>();
            bool timedOut = false;
            int fired = await new AsyncSelect().OnReceive(a, _ => { }).OnTimeout(Ms(3), () => timedOut = true).OnSend(b, 1).WaitAsync();
            Assert.Equal(1, fired);
            Assert.True(timedOut);
            Assert.Equal(0, a.WaitingReceivers + b.WaitingSenders);
            Assert.False(a.TrySend(1));
            Assert.False(b.TryReceive(out _));
            Assert.Equal(0, await new AsyncSelect().OnTimeout(TimeSpan.Zero).WaitAsync()); // a timeout alone is a sleep
        });
    }

    [Fact]
    public void ParkedSelect_ASendOnOneChannel_FiresItsReceive_AndWithdrawsTheOthers()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<int>();
            var b = new AsyncChannel<int>();
            var c = new AsyncChannel<int>(1);
            await c.SendAsync(0);
            int got = -1;
            var selector = Tasklet.Spawn(async () => await new AsyncSelect().OnSend(b, 7).OnReceive(a, v => got = v).OnSend(c, 8).WaitAsync());
            await Tasklet.Yield();
            Assert.Equal(1, a.WaitingReceivers);
            Assert.Equal(1, b.WaitingSenders);
            Assert.Equal(1, c.WaitingSenders);
            Assert.StartsWith("a select on send on AsyncChannel<Int32>", selector.WaitingOn);
            Assert.True(a.TrySend(3));                   // hands 3 to the select, which withdraws from b and c
            Assert.Equal(0, b.WaitingSenders + c.WaitingSenders + a.WaitingReceivers);
            Assert.Equal(1, await selector);
            Assert.Equal(3, got);
            Assert.False(b.TryReceive(out _));
            Assert.Equal(0, await c.ReceiveAsync());
            Assert.False(c.TryReceive(out _));
        });
    }

    [Fact]
    public void ParkedSelect_AReceiverOnTheSendChannel_TakesTheSelectsValue()
    {
        Run(async () =>
        {
            foreach (int capacity in new[] { 0, 1 })
            {
                var a = new AsyncChannel<int>();
                var b = new AsyncChannel<int>(capacity);
                if (capacity == 1) await b.SendAsync(1);   // full
                bool sent = false;
                var selector = Tasklet.Spawn(async () => await new AsyncSelect().OnReceive(a, _ => { }).OnSend(b, 42, () => sent = true).WaitAsync());
                await Tasklet.Yield();
                if (capacity == 1) Assert.Equal(1, await b.ReceiveAsync()); // frees a slot: 42 moves in
                else Assert.Equal(42, await b.ReceiveAsync());
                Assert.Equal(1, await selector);
                Assert.True(sent);
                Assert.Equal(0, a.WaitingReceivers);
                if (capacity == 1) Assert.Equal(42, await b.ReceiveAsync());
            }
        });
    }

    [Fact]
    public void KilledOrTimedOutSelect_LeavesNoTrace()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<int>();
            var b = new AsyncChannel<int>();
            var victim = Tasklet.Spawn(async () => await new AsyncSelect().OnReceive(a, _ => Assert.Fail("killed")).OnSend(b, 1).WaitAsync());
            await Tasklet.Yield();
            victim.Kill();
            await victim.JoinAsync();
            Assert.Equal(TaskletState.Killed, victim.State);
            Assert.Equal(0, a.WaitingReceivers + b.WaitingSenders);

            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(2))) await new AsyncSelect().OnReceive(a, _ => { }).OnSend(b, 2).WaitAsync();
            });
            Assert.Equal(0, a.WaitingReceivers + b.WaitingSenders);
            Assert.False(a.TrySend(1));
            Assert.False(b.TryReceive(out _));
        });
    }

    [Fact]
    public void WokenSelectKilledBeforeItRuns_ItsBranchStillFires()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<int>();
            var log = new List<string>();
            var selector = Tasklet.Spawn(async () =>
            {
                log.Add("fired " + await new AsyncSelect().OnReceive(a, v => log.Add("got " + v)).WaitAsync());
                try { await Tasklet.Yield(); }
                catch (TaskletExit) { log.Add("killed at the next park"); throw; }
            });
            await Tasklet.Yield();
            Assert.True(a.TrySend(9));
            selector.Kill();
            await selector.JoinAsync();
            Assert.Equal(["got 9", "fired 0", "killed at the next park"], log);
        });
    }

    [Fact]
    public void ClosedChannel_IsAReadyBranch_ThatThrowsClosed()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<int>(1);
            await a.SendAsync(1);
            a.Close();
            int got = 0;
            Assert.Equal(0, await new AsyncSelect().OnReceive(a, v => got = v).OnDefault().WaitAsync()); // drains first
            Assert.Equal(1, got);
            await Assert.ThrowsAsync<AsyncChannelClosedException>(async () => await new AsyncSelect().OnReceive(a, _ => { }).OnDefault().WaitAsync());
            await Assert.ThrowsAsync<AsyncChannelClosedException>(async () => await new AsyncSelect().OnSend(a, 1).WaitAsync());

            var b = new AsyncChannel<int>();
            var c = new AsyncChannel<int>();
            var selector = Tasklet.Spawn(() => Record.ExceptionAsync(async () => await new AsyncSelect().OnReceive(b, _ => { }).OnSend(c, 5).WaitAsync()));
            await Tasklet.Yield();
            c.Close();                                   // wakes the parked send branch
            Assert.IsType<AsyncChannelClosedException>(await selector);
            Assert.Equal(0, b.WaitingReceivers);
        });
    }

    [Fact]
    public void SentException_IsThrownByTheSelect_AndConsumed()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<int>();
            var sender = Tasklet.Spawn(async () => await a.SendExceptionAsync(new FormatException("bad")));
            await Tasklet.Yield();
            await Assert.ThrowsAsync<FormatException>(async () => await new AsyncSelect().OnReceive(a, _ => { }).WaitAsync());
            await sender;
            Assert.False(a.TryReceive(out _));
        });
    }

    [Fact]
    public void TwoSelectsOnOneChannel_EachValueGoesToOne_InFifoOrder()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<int>();
            var other = new AsyncChannel<int>();
            var got = new List<(int, int)>();
            var selectors = Enumerable.Range(1, 2).Select(i => Tasklet.Spawn(async () =>
                await new AsyncSelect().OnReceive(other, _ => { }).OnReceive(a, v => got.Add((i, v))).WaitAsync())).ToList();
            await Tasklet.Yield();
            await a.SendAsync(10);
            await a.SendAsync(20);
            foreach (var s in selectors) Assert.Equal(1, await s);
            Assert.Equal([(1, 10), (2, 20)], got);
            Assert.Equal(0, other.WaitingReceivers);
        });
    }

    [Fact]
    public void Misuse_IsRefused_WithTheRule()
    {
        Run(async () =>
        {
            var a = new AsyncChannel<int>();
            Assert.Contains("at least one branch", Assert.Throws<InvalidOperationException>(() => { _ = new AsyncSelect().WaitAsync(); }).Message);
            Assert.Contains("same channel", Assert.Throws<InvalidOperationException>(() => new AsyncSelect().OnReceive(a, _ => { }).OnSend(a, 1)).Message);
            Assert.Throws<InvalidOperationException>(() => new AsyncSelect().OnTimeout(Ms(1)).OnTimeout(Ms(2)));
            Assert.Throws<InvalidOperationException>(() => new AsyncSelect().OnDefault().OnDefault());
            Assert.Throws<ArgumentOutOfRangeException>(() => new AsyncSelect().OnTimeout(Ms(-5)));
            Assert.Throws<ArgumentNullException>(() => new AsyncSelect().OnReceive(a, null!));
            Assert.Throws<ArgumentNullException>(() => new AsyncSelect().OnSend<int>(null!, 1));

            var select = new AsyncSelect().OnReceive(a, _ => { });
            var waiter = Tasklet.Spawn(async () => await select.WaitAsync());
            await Tasklet.Yield();
            Assert.Contains("one wait at a time", Assert.Throws<InvalidOperationException>(() => { _ = select.WaitAsync(); }).Message);
            Assert.Throws<InvalidOperationException>(() => select.OnDefault());
            Assert.True(a.TrySend(1));
            Assert.Equal(0, await waiter);

            var e = await Task.Run(() => Record.Exception(() => { _ = select.WaitAsync(); }));
            Assert.IsType<InvalidOperationException>(e);
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(99)]
    [InlineData(2024)]
    public void Random_SelectsSendsReceivesAndKills_EveryValueIsReceivedExactlyOnce_OrItsSendFailed(int seed)
    {
        Run(async () =>
        {
            var rng = new Random(seed);
            AsyncChannel<int>[] channels = [new(0), new(1), new(2)];
            var sent = new HashSet<int>();
            var unsent = new HashSet<int>();
            var received = new List<int>();
            int nextValue = 0, selectsFired = 0, selectsParkedAndAborted = 0;
            string Where() => $"seed {seed}";
            TimeSpan? RandomSpan() => rng.Next(4) switch { 0 => TimeSpan.Zero, 1 => Ms(1), _ => null };

            async Task Select()
            {
                var select = new AsyncSelect();
                var sends = new Dictionary<int, int>();   // branch -> value
                foreach (var ch in channels)
                {
                    switch (rng.Next(3))
                    {
                        case 0:
                            select.OnReceive(ch, received.Add);
                            break;
                        case 1:
                            int v = nextValue++;
                            sends[select.BranchCount] = v;
                            select.OnSend(ch, v);
                            break;
                    }
                }
                if (rng.Next(4) == 0 || select.BranchCount == 0) select.OnDefault();
                if (rng.Next(3) == 0 && RandomSpan() is { } t) select.OnTimeout(t);
                int fired = -1;
                try
                {
                    fired = await select.WaitAsync();
                    selectsFired++;
                }
                catch (Exception e) when (e is TaskletExit or TimeoutException)
                {
                    selectsParkedAndAborted++;
                    throw;
                }
                finally
                {
                    foreach (var (branch, v) in sends) (branch == fired ? sent : unsent).Add(v);
                }
            }

            async Task Worker()
            {
                while (!channels.All(c => c.IsClosed))
                {
                    var ch = channels[rng.Next(channels.Length)];
                    var span = RandomSpan();
                    try
                    {
                        using (span is { } t ? CancelScope.FailAfter(t) : null)
                        {
                            switch (rng.Next(4))
                            {
                                case 0:
                                    int v = nextValue++;
                                    try
                                    {
                                        await ch.SendAsync(v);
                                        sent.Add(v);
                                    }
                                    catch
                                    {
                                        unsent.Add(v);
                                        throw;
                                    }
                                    break;
                                case 1:
                                    received.Add(await ch.ReceiveAsync());
                                    break;
                                default:
                                    await Select();
                                    break;
                            }
                        }
                    }
                    catch (Exception e) when (e is TimeoutException or AsyncChannelClosedException) { }
                    await Tasklet.Yield();
                }
            }

            var workers = new List<Tasklet>();
            void SpawnWorker() => workers.Add(Tasklet.Spawn(async () =>
            {
                try { await Worker(); }
                catch (TaskletExit) { }
            }));
            for (int i = 0; i < 5; i++) SpawnWorker();
            for (int step = 0; step < 1500; step++)
            {
                if (rng.Next(8) == 0)
                {
                    var live = workers.Where(w => w.IsAlive).ToList();
                    if (live.Count > 0) live[rng.Next(live.Count)].Kill();
                    SpawnWorker();
                }
                await Tasklet.Yield();
                foreach (var ch in channels)
                {
                    Assert.True(ch.Count <= ch.Capacity, Where());
                    Assert.True(ch.WaitingReceivers == 0 || (ch.Count == 0 && ch.WaitingSenders == 0), $"receivers wait on a non-empty {ch}, {Where()}");
                    Assert.True(ch.WaitingSenders == 0 || ch.Count == ch.Capacity, $"senders wait on a buffer with room in {ch}, {Where()}");
                }
                Assert.True(received.Count == received.Distinct().Count(), $"a value was received twice, {Where()}");
            }
            foreach (var ch in channels) ch.Close();
            foreach (var w in workers) await w.JoinAsync();
            foreach (var ch in channels)
            {
                while (ch.TryReceive(out var left)) received.Add(left);
            }
            Assert.True(received.Count == received.Distinct().Count(), $"a value was received twice, {Where()}");
            Assert.True(sent.SetEquals(received), $"sent and received differ: sent-only [{string.Join(",", sent.Except(received))}], received-only [{string.Join(",", received.Except(sent))}], {Where()}");
            Assert.Empty(sent.Intersect(unsent));
            Assert.Equal(nextValue, sent.Count + unsent.Count);
            Assert.True(selectsFired > 100 && selectsParkedAndAborted > 10, $"{selectsFired} selects fired, {selectsParkedAndAborted} aborted, {Where()}");
        });
    }

    [Fact]
    public void ReusedSelect_AndAwaitForeach_AllocateNothingPerParkedWaitInSteadyState()
    {
        Run(async () =>
        {
            const int Rounds = 2000;
            var ping = new AsyncChannel<int>();
            var pong = new AsyncChannel<int>();
            var idle = new AsyncChannel<int>();
            var echo = Tasklet.Spawn(async () =>
            {
                int value = 0;
                var select = new AsyncSelect().OnReceive(idle, _ => { }).OnReceive(ping, v => value = v);
                for (int i = 0; i < 2 * Rounds; i++)
                {
                    if (await select.WaitAsync() != 1) throw new InvalidOperationException("wrong branch"); // parks: the sender comes later
                    await pong.SendAsync(value);
                }
            });
            var sink = new AsyncChannel<int>();
            int sum = 0;
            var consumer = Tasklet.Spawn(async () =>
            {
                await foreach (var v in sink) sum += v;       // parks each step
            });
            long allocated = 0;
            for (int pass = 0; pass < 2; pass++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < Rounds; i++)
                {
                    await Tasklet.Yield();
                    await ping.SendAsync(i);
                    if (await pong.ReceiveAsync() != i) throw new InvalidOperationException("wrong value");
                    await sink.SendAsync(1);
                }
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
            sink.Close();
            await echo;
            await consumer;
            Assert.Equal(2 * Rounds, sum);
            Assert.True(allocated < Rounds, $"{allocated} B for {Rounds} rounds");
        });
    }
}
