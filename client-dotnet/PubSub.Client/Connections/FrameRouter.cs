using PubSub.Client.Protocol;

namespace PubSub.Client.Connections;

/// <summary>Hands every frame of every connection (the one in use, a probe, one retiring) to the requests or subscriptions it belongs to.</summary>
internal sealed class FrameRouter(PubSubClient client, RequestTracker requests, SubscriptionSet subscriptions) : IConnectionListener
{
    public void OnFrame(Connection connection, ServerFrame frame)
    {
        switch (frame.Type)
        {
            case ServerFrameType.Message:
                subscriptions.OnMessage(connection, frame);
                break;
            case ServerFrameType.Reply:
                requests.OnReply(frame, connection);
                break;
            case ServerFrameType.Error:
                client.ReportError(new PubSubException(frame.ErrorCode!, $"The server reported an error: {frame.ErrorMessage}"));
                break;
            case ServerFrameType.Unsubscribed:
                subscriptions.OnUnsubscribed(connection, frame);
                break;
            case ServerFrameType.Subscribed:
                subscriptions.OnSubscribed(connection, frame);
                break;
            case ServerFrameType.Join or ServerFrameType.Leave:
                subscriptions.OnPresenceEvent(connection, frame);
                break;
            default:
                // pong (its arrival counted as life already), or a frame type added after this
                // client: ignored (section 2).
                break;
        }
    }

    public void OnBadFrame(Connection connection, PubSubException error) => client.ReportError(error);

    public void OnBatchRefused(IReadOnlyList<OutboundRequest> refused, PubSubException error) => requests.OnBatchRefused(refused, error);
}

/// <summary>The tasks the client started: disposal waits for every one (and the tests check that none outlives it).</summary>
internal sealed class TaskTracker
{
    private readonly List<Task> _tasks = [];
    private int _started;

    /// <summary>The tasks started and not seen to end.</summary>
    public Task[] All
    {
        get
        {
            lock (_tasks)
            {
                return [.. _tasks];
            }
        }
    }

    /// <summary>How many were started in all.</summary>
    public int Started => Volatile.Read(ref _started);

    public Task Track(Task task)
    {
        Interlocked.Increment(ref _started);
        lock (_tasks)
        {
            _tasks.RemoveAll(t => t.IsCompleted);
            _tasks.Add(task);
        }
        return task;
    }
}
