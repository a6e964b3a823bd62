// A TaskGroup's children are tasklets of two small internal subclasses that hold their group and
// their links in the group's list of live children. The core asks a tasklet for its supervisor
// when it ends (Tasklet.Supervisor); keeping it in a field here, rather than in the tasklet's
// extras, saves a group an allocation per child. Loop thread only.

namespace Evergreen;

/// <summary>A child's place in its group: the group and the links of its list of live children.</summary>
internal interface IGroupChild
{
    TaskGroup Group { get; }

    Tasklet? Prev { get; set; }

    Tasklet? Next { get; set; }
}

/// <summary>A child of a <see cref="TaskGroup"/>.</summary>
internal sealed class GroupChild : Tasklet, IGroupChild
{
    internal GroupChild(Func<Task> body, string? name, TaskGroup group) : base(body, name) => Group = group;

    internal GroupChild(Func<ValueTask> body, string? name, TaskGroup group) : base(body, name) => Group = group;

    public TaskGroup Group { get; }

    public Tasklet? Prev { get; set; }

    public Tasklet? Next { get; set; }

    internal override ITaskletSupervisor? Supervisor => Group;
}

/// <summary>A child of a <see cref="TaskGroup"/> that produces a value.</summary>
internal sealed class GroupChild<T> : Tasklet<T>, IGroupChild
{
    internal GroupChild(Func<Task<T>> body, string? name, TaskGroup group) : base(body, name) => Group = group;

    internal GroupChild(Func<ValueTask<T>> body, string? name, TaskGroup group) : base(body, name) => Group = group;

    public TaskGroup Group { get; }

    public Tasklet? Prev { get; set; }

    public Tasklet? Next { get; set; }

    internal override ITaskletSupervisor? Supervisor => Group;
}
