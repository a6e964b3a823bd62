using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>The one intrusive wait list: FIFO, O(1) removal anywhere, one list per node.</summary>
public class WaitListTests
{
    private sealed class Node(int id) : ParkedOperation<bool>
    {
        public readonly int Id = id;

        protected override bool Finish(bool completed) => completed;

        public override string ToString() => $"node {Id}";
    }

    [Fact]
    public void AddLast_AndTakeFirst_AreFirstInFirstOut()
    {
        var list = new WaitList<Node>();
        var nodes = Enumerable.Range(1, 4).Select(i => new Node(i)).ToArray();
        foreach (var n in nodes) list.AddLast(n);
        Assert.Equal(4, list.Count);
        Assert.Same(nodes[0], list.First);
        var order = new List<int>();
        while (list.TakeFirst() is { } n) order.Add(n.Id);
        Assert.Equal([1, 2, 3, 4], order);
        Assert.True(list.IsEmpty);
        Assert.Null(list.First);
    }

    [Fact]
    public void Remove_TakesANodeOutOfTheMiddle_OrTheEnds_AndSaysWhetherItWasThere()
    {
        var list = new WaitList<Node>();
        var nodes = Enumerable.Range(1, 5).Select(i => new Node(i)).ToArray();
        foreach (var n in nodes) list.AddLast(n);
        Assert.True(list.Remove(nodes[2]));
        Assert.True(list.Remove(nodes[0]));
        Assert.True(list.Remove(nodes[4]));
        Assert.False(list.Remove(nodes[2]));
        Assert.False(list.Contains(nodes[0]));
        Assert.True(list.Contains(nodes[3]));
        var left = new List<int>();
        foreach (var n in list) left.Add(n.Id);
        Assert.Equal([2, 4], left);
        Assert.Equal(2, list.Count);
    }

    [Fact]
    public void ARemovedNode_CanBeAddedAgain_ToThisListOrAnother()
    {
        var a = new WaitList<Node>();
        var b = new WaitList<Node>();
        var node = new Node(1);
        a.AddLast(node);
        a.Remove(node);
        b.AddLast(node);
        Assert.True(b.Contains(node));
        Assert.Same(node, b.TakeFirst());
        a.AddLast(node);
        Assert.Equal(1, a.Count);
    }

    [Fact]
    public void AddingANodeThatIsAlreadyInAList_IsRefused()
    {
        var a = new WaitList<Node>();
        var b = new WaitList<Node>();
        var first = new Node(1);
        var second = new Node(2);
        a.AddLast(first);
        a.AddLast(second);
        Assert.Throws<InvalidOperationException>(() => a.AddLast(second)); // linked: it has a predecessor
        Assert.Throws<InvalidOperationException>(() => b.AddLast(second));
        Assert.Throws<InvalidOperationException>(() => a.AddLast(first));  // the head of this list
        Assert.Equal(2, a.Count);
    }

    [Fact]
    public void Tasklets_AreNodesToo_AWaitQueueIsAWaitListOfTasklets()
    {
        Run(async () =>
        {
            var queue = new WaitQueue("the gate");
            var waiters = Enumerable.Range(0, 3).Select(_ => Tasklet.Spawn(async () => await queue.ParkAsync())).ToArray();
            await Tasklet.Yield();
            Assert.Equal(waiters, queue.Waiters);
            waiters[1].Kill(); // its abort takes it out of the middle
            await waiters[1].JoinAsync();
            Assert.Equal([waiters[0], waiters[2]], queue.Waiters);
            Assert.Equal(2, queue.UnparkAll());
            await waiters[0];
            await waiters[2];
        });
    }
}
