namespace Evergreen;

/// <summary>
/// Thrown when the result of a cancelled <see cref="Future"/> is asked for (Python's
/// <c>concurrent.futures.CancelledError</c>): by <see cref="Future.ResultAsync"/>, <c>await future</c>,
/// <see cref="Future{T}.Result"/>, and returned by <see cref="Future.Exception"/>. It is an
/// <see cref="OperationCanceledException"/>: the call never ran, nothing failed.
/// </summary>
public sealed class FutureCanceledException : OperationCanceledException
{
    /// <summary>Creates the exception with the default message, "the future was cancelled".</summary>
    public FutureCanceledException() : base("the future was cancelled") { }

    /// <summary>Creates the exception with a message.</summary>
    public FutureCanceledException(string message) : base(message) { }

    internal FutureCanceledException(Future future) : base($"{future.Name} was cancelled") => Future = future;

    /// <summary>The future that was cancelled, when Evergreen raised it; null otherwise.</summary>
    public Future? Future { get; }
}
