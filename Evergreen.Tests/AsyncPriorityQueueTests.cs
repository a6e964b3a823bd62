using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>AsyncPriorityQueue: smallest first, ties in put order; the shared waiting logic is in AsyncQueueTests.</summary>
public class AsyncPriorityQueueTests
{
    [Fact]
    public void PutThenGet_ComeOutSmallestFirst()
    {
        Run(async () =>
        {
            var q = new AsyncPriorityQueue<int>();
            var items = new[] { 5, 3, 9, 1, 7, 2, 8, 0, 6, 4 };
            foreach (var i in items) await q.PutAsync(i);
            var got = new List<int>();
            while (q.TryGet(out var i)) got.Add(i);
            Assert.Equal(items.Order(), got);
        });
    }

    [Fact]
    public void EqualPriorities_ComeOutInPutOrder()
    {
        Run(async () =>
        {
            var byPriority = Comparer<(int Priority, string Name)>.Create((a, b) => a.Priority.CompareTo(b.Priority));
            var q = new AsyncPriorityQueue<(int Priority, string Name)>(comparer: byPriority);
            foreach (var item in new[] { (2, "a"), (1, "b"), (2, "c"), (1, "d"), (2, "e"), (1, "f") }) await q.PutAsync(item);
            var names = new List<string>();
            while (q.TryGet(out var item)) names.Add(item.Name);
            Assert.Equal(["b", "d", "f", "a", "c", "e"], names);
        });
    }

    [Fact]
    public void Comparer_DecidesTheOrder()
    {
        Run(async () =>
        {
            var q = new AsyncPriorityQueue<int>(comparer: Comparer<int>.Create((a, b) => b.CompareTo(a)));
            foreach (var i in new[] { 1, 3, 2 }) await q.PutAsync(i);
            Assert.Equal(new[] { 3, 2, 1 }, new[] { await q.GetAsync(), await q.GetAsync(), await q.GetAsync() });
        });
    }

    [Fact]
    public void ATypeThatCannotBeCompared_NeedsAComparer()
    {
        var e = Assert.Throws<ArgumentException>(() => new AsyncPriorityQueue<object>());
        Assert.Contains("needs a comparer", e.Message);
        _ = new AsyncPriorityQueue<object>(comparer: Comparer<object>.Create((a, b) => 0));
        _ = new AsyncPriorityQueue<int?>();
        _ = new AsyncPriorityQueue<string>();
    }

    [Fact]
    public void APutterMovedInByAGet_TakesItsPlaceByPriority()
    {
        Run(async () =>
        {
            var q = new AsyncPriorityQueue<int>(2);
            await q.PutAsync(5);
            await q.PutAsync(1);
            var putter = Tasklet.Spawn(() => q.PutAsync(3).AsTask());
            await Tasklet.Yield();
            Assert.Equal(1, await q.GetAsync());
            await putter;
            Assert.Equal(new[] { 3, 5 }, new[] { await q.GetAsync(), await q.GetAsync() });
        });
    }

    [Theory, InlineData(1), InlineData(2), InlineData(3), InlineData(4)]
    public void RandomOperations_NeverLoseOrDuplicateAnItem(int seed) => QueueFuzz.Run(seed, max => new AsyncPriorityQueue<int>(max));

    [Theory, InlineData(5), InlineData(6), InlineData(7)]
    public void RandomPutsAndGets_AlwaysGetTheSmallestQueued(int seed)
    {
        Run(async () =>
        {
            var rng = new Random(seed);
            var q = new AsyncPriorityQueue<int>();
            var model = new List<int>();
            for (int step = 0; step < 3000; step++)
            {
                if (model.Count == 0 || rng.Next(2) == 0)
                {
                    int item = rng.Next(50);
                    await q.PutAsync(item);
                    model.Add(item);
                }
                else
                {
                    int smallest = model.Min();
                    model.Remove(smallest);
                    Assert.True(await q.GetAsync() == smallest, $"seed {seed}: step {step} did not get the smallest, {smallest}");
                }
                Assert.True(q.Count == model.Count, $"seed {seed}: count {q.Count}, expected {model.Count}");
            }
        });
    }
}
