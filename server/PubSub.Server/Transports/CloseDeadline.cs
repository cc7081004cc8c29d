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
    private readonly Action _abort;
    private readonly CancellationTokenRegistration _registration;
    private ITimer? _timer;
    private bool _done;

    public CloseDeadline(Session session, TimeProvider time, Action abort)
    {
        _abort = abort;
        _registration = session.Closed.Register(() =>
        {
            lock (_gate)
            {
                if (!_done)
                {
                    _timer = time.CreateTimer(static s => ((CloseDeadline)s!).Abort(), this, Timeout, System.Threading.Timeout.InfiniteTimeSpan);
                }
            }
        });
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
            _abort();
        }
        catch (ObjectDisposedException)
        {
            // The request ended between the check and the abort: nothing is left to abort, and an
            // exception on a timer thread would take the process down.
        }
    }
}
