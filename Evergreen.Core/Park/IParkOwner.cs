namespace Evergreen;

/// <summary>
/// What a parked tasklet waits on (advanced: for authors of blocking primitives). Evergreen has one
/// way to park — <see cref="Tasklet.ParkAsync"/> — and it needs one thing from the primitive: how to
/// take the tasklet back out of its wait structure when the park is aborted (the tasklet is killed,
/// an enclosing <see cref="CancelScope"/> expires, or the park's own timeout passes) before the
/// primitive woke it. <see cref="object.ToString"/> says what is waited on, for deadlock reports
/// and dumps.
/// </summary>
public interface IParkOwner
{
    /// <summary>
    /// Called on the loop thread, once, when <paramref name="tasklet"/>'s park is aborted before it
    /// was woken. Remove the tasklet from your wait structure and undo anything the wait reserved.
    /// Must not throw and must not park.
    /// </summary>
    void AbortPark(Tasklet tasklet);
}
