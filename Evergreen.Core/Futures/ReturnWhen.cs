namespace Evergreen;

/// <summary>
/// When <see cref="Futures.WaitAsync{TFuture}"/> returns (Python's <c>concurrent.futures</c>
/// <c>ALL_COMPLETED</c>, <c>FIRST_COMPLETED</c>, <c>FIRST_EXCEPTION</c>). Whatever the choice, it
/// also returns when its timeout passes.
/// </summary>
public enum ReturnWhen
{
    /// <summary>When every future is done (finished or cancelled).</summary>
    AllCompleted,

    /// <summary>When any future is done (finished or cancelled).</summary>
    FirstCompleted,

    /// <summary>
    /// When any future finishes with an exception (a cancelled one does not count), or when every
    /// future is done.
    /// </summary>
    FirstException,
}
