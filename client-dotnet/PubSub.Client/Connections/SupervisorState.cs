namespace PubSub.Client.Connections;

/// <summary>The supervisor's states; <see cref="PubSubClientState"/> is what the application sees of them.</summary>
internal enum SupervisorState
{
    /// <summary>No run: before the first connect, or after one failed or was cancelled.</summary>
    Disconnected,

    /// <summary>A run's first connect.</summary>
    Connecting,

    /// <summary>A connection is in use.</summary>
    Connected,

    /// <summary>The connection was lost; the run reconnects.</summary>
    Reconnecting,

    /// <summary>A cancelled first connect whose run is still ending (seen as Disconnected); a new connect waits for it.</summary>
    Stopping,

    /// <summary>The run ended for good (the server said so, or the policy gave up).</summary>
    Closed,

    /// <summary>The client was disposed (seen as Closed).</summary>
    Disposed,
}

/// <summary>The supervisor's transitions, in one table, and what the application sees of each state.</summary>
internal static class SupervisorStates
{
    /// <summary>Whether the supervisor may move from <paramref name="from"/> to <paramref name="to"/>; anything else is a stale run's, and refused.</summary>
    public static bool Allows(SupervisorState from, SupervisorState to) => to switch
    {
        SupervisorState.Connecting => from is SupervisorState.Disconnected or SupervisorState.Closed,
        // From Connected: an upgrade moved to another connection.
        SupervisorState.Connected => from is SupervisorState.Connecting or SupervisorState.Reconnecting or SupervisorState.Connected,
        SupervisorState.Reconnecting => from is SupervisorState.Connected,
        SupervisorState.Stopping => from is SupervisorState.Connecting,
        SupervisorState.Disconnected => from is SupervisorState.Connecting or SupervisorState.Stopping,
        SupervisorState.Closed => from is SupervisorState.Connected or SupervisorState.Reconnecting,
        SupervisorState.Disposed => from is not SupervisorState.Disposed,
        _ => false,
    };

    public static PubSubClientState Public(SupervisorState state) => state switch
    {
        SupervisorState.Connecting => PubSubClientState.Connecting,
        SupervisorState.Connected => PubSubClientState.Connected,
        SupervisorState.Reconnecting => PubSubClientState.Reconnecting,
        SupervisorState.Closed or SupervisorState.Disposed => PubSubClientState.Closed,
        _ => PubSubClientState.Disconnected,
    };
}

/// <summary>One run of the loop: its cancellation, its task, and the signal that the connect (or reconnect) it waits for succeeded.</summary>
internal sealed class SupervisorRun
{
    public CancellationTokenSource Cancellation { get; } = new();

    public Task? Loop { get; set; }

    public TaskCompletionSource Connected { get; set; } = NewSignal();

    public static TaskCompletionSource NewSignal()
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Nobody may await it (a reconnect that fails for good with no ConnectAsync waiting).
        signal.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return signal;
    }
}
