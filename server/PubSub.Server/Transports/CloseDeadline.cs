using PubSub.Sessions;

namespace PubSub.Transports;

/// <summary>
/// Once a session closes, gives its transport <see cref="Timeout"/> to deliver the last frame and
/// finish, then aborts the connection (a client that stopped reading would otherwise hold it
/// forever). Disposing it, when the request ends, guarantees the abort never runs afterwards.
/// </summary>
internal sealed class CloseDeadline : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly Action<object> _abort;
    private readonly object _connection;
    private readonly TimeProvider _time;
    private readonly CancellationTokenRegistration _registration;
    private ITimer? _timer;
    private bool _done;

    /// <param name="abort">Aborts <paramref name="connection"/>; a static lambda, so no session holds a delegate of its own.</param>
    public CloseDeadline(Session session, TimeProvider time, Action<object> abort, object connection)
    {
        _abort = abort;
        _connection = connection;
        _time = time;
        // A static callback: no closure or delegate per session, as every connection holds one.
        _registration = session.Closed.Register(static state => ((CloseDeadline)state!).Start(), this);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _done = true;
            _timer?.Dispose();
        }
        _registration.Dispose();
    }

    private void Start()
    {
        lock (_gate)
        {
            if (!_done)
            {
                _timer = _time.CreateTimer(static s => ((CloseDeadline)s!).Abort(), this, Timeout, System.Threading.Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Abort()
    {
        lock (_gate)
        {
            if (_done)
            {
                return;
            }
        }
        try
        {
            _abort(_connection);
        }
        catch (ObjectDisposedException)
        {
            // The request ended between the check and the abort: nothing is left to abort, and an
            // exception on a timer thread would take the process down.
        }
    }
}
