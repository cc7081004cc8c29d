using System.Security.Claims;
using PubSub.Sessions;
using PubSub.Transports;

namespace PubSub.Server.Tests.Transports;

public sealed class CloseDeadlineTests
{
    private static Session NewSession() => new("n1.x", "sse", PubSub.Protocol.FrameEncoding.Json, new ClaimsPrincipal(), "", 1024, 0, _ => { });

    [Fact]
    public void A_closed_session_whose_transport_does_not_finish_is_aborted_after_the_timeout()
    {
        var time = new ManualTimeProvider();
        var session = NewSession();
        var aborts = 0;
        using var deadline = new CloseDeadline(session, time, _ => aborts++, new object());

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, aborts);
        session.Abandon();
        time.Advance(CloseDeadline.Timeout - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, aborts);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, aborts);
    }

    [Fact]
    public void Once_the_request_has_ended_the_abort_never_runs()
    {
        var time = new ManualTimeProvider();
        var session = NewSession();
        var aborts = 0;
        var deadline = new CloseDeadline(session, time, _ => aborts++, new object());

        session.Abandon();
        deadline.Dispose();
        time.Advance(CloseDeadline.Timeout * 2);

        Assert.Equal(0, aborts);
    }

    [Fact]
    public void An_abort_that_finds_the_request_disposed_does_not_throw_on_the_timer_thread()
    {
        var time = new ManualTimeProvider();
        var session = NewSession();
        using var deadline = new CloseDeadline(session, time, _ => throw new ObjectDisposedException("HttpContext"), new object());

        session.Abandon();
        var error = Record.Exception(() => time.Advance(CloseDeadline.Timeout));

        Assert.Null(error);
    }
}
