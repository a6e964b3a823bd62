using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>AsyncLifoQueue: last in, first out; the shared waiting logic is in AsyncQueueTests.</summary>
public class AsyncLifoQueueTests
{
    [Fact]
    public void PutThenGet_ComeOutLastInFirstOut()
    {
        Run(async () =>
        {
            var q = new AsyncLifoQueue<int>();
            foreach (var i in new[] { 1, 2, 3 }) await q.PutAsync(i);
            Assert.Equal(new[] { 3, 2, 1 }, new[] { await q.GetAsync(), await q.GetAsync(), await q.GetAsync() });
        });
    }

    [Fact]
    public void APutterMovedInByAGet_IsTheNextOut()
    {
        // Python's LifoQueue: the putter that was waiting puts its item on top when room is made.
        Run(async () =>
        {
            var q = new AsyncLifoQueue<int>(2);
            await q.PutAsync(1);
            await q.PutAsync(2);
            var putter = Tasklet.Spawn(() => q.PutAsync(3).AsTask());
            await Tasklet.Yield();
            Assert.Equal(2, await q.GetAsync());
            await putter;
            Assert.Equal(3, await q.GetAsync());
            Assert.Equal(1, await q.GetAsync());
        });
    }

    [Fact]
    public void ToString_NamesTheKindAndTheCount()
    {
        Run(async () =>
        {
            var q = new AsyncLifoQueue<string>(3);
            await q.PutAsync("x");
            Assert.Matches(@"^AsyncLifoQueue<String> #\d+ \(1 of 3 items\)$", q.ToString());
        });
    }

    [Theory, InlineData(1), InlineData(2), InlineData(3), InlineData(4)]
    public void RandomOperations_NeverLoseOrDuplicateAnItem(int seed) => QueueFuzz.Run(seed, max => new AsyncLifoQueue<int>(max));
}
