using System.Text;
using PubSub.Sessions;
using PubSub.Transports;

namespace PubSub.Server.Tests.Transports;

/// <summary>The SSE resume cursor a stream writes as each event's id, and reads back as Last-Event-ID.</summary>
public sealed class ResumeCursorTests
{
    private static string Id(ResumeCursor cursor) => Encoding.ASCII.GetString(cursor.Id);

    [Fact]
    public void A_cursor_without_subscriptions_is_a_dash_and_reads_back_as_none()
    {
        var cursor = new ResumeCursor();

        Assert.Equal(ResumeCursor.Empty, Id(cursor));
        Assert.True(ResumeCursor.TryParse(Id(cursor), 10, out var entries, out _));
        Assert.Empty(entries);
    }

    [Fact]
    public void Publications_advance_their_channel_an_unsubscribe_removes_it_and_other_frames_change_nothing_down_to_the_empty_cursor()
    {
        var cursor = new ResumeCursor();

        cursor.Apply(OutboundFrame.Publication(default, "chat/a", new StreamPosition(1, "e1")));
        cursor.Apply(OutboundFrame.Publication(default, "chat/b", new StreamPosition(7, "e2")));
        cursor.Apply(OutboundFrame.Publication(default, "chat/a", new StreamPosition(9_007_199_254_740_991, "e1")));
        var both = Id(cursor);
        cursor.Apply(new OutboundFrame("{\"type\":\"ping\"}"u8.ToArray()));
        var afterPing = Id(cursor);
        cursor.Apply(OutboundFrame.Removing(default, "chat/b"));
        var one = Id(cursor);
        cursor.Apply(OutboundFrame.Removing(default, "chat/a"));

        Assert.Equal("e1:9007199254740991:chat/a,e2:7:chat/b", both);
        Assert.Equal(both, afterPing);
        Assert.Equal("e1:9007199254740991:chat/a", one);
        Assert.Equal(ResumeCursor.Empty, Id(cursor));
    }

    [Fact]
    public void A_resumed_cursor_writes_what_it_resumed_from_and_reads_back_the_same_positions()
    {
        var resumed = new ResumeCursor([("chat/a", new StreamPosition(3, "x")), ("news/b", new StreamPosition(0, "y"))]);

        Assert.True(ResumeCursor.TryParse(Id(resumed), 10, out var entries, out var error), error);
        Assert.Equal([("chat/a", new StreamPosition(3, "x")), ("news/b", new StreamPosition(0, "y"))], entries);
    }

    [Fact]
    public void An_epoch_of_a_broker_of_ones_own_may_hold_any_printable_ASCII()
    {
        Assert.True(ResumeCursor.TryParse("3f2b9a1c-77de-4b1e-9d5a-0c5c0e3b7a11:5:chat/a", 10, out var entries, out var error), error);
        Assert.Equal("3f2b9a1c-77de-4b1e-9d5a-0c5c0e3b7a11", Assert.Single(entries).Position.Epoch);
    }

    [Theory]
    [InlineData("e1:1", "The resume cursor is not a list of")]
    [InlineData("e1:-1:chat/a", "The resume cursor is not a list of")]
    [InlineData("e1:1:chat/a,e2:2:chat/a", "The resume cursor names channel 'chat/a' twice.")]
    [InlineData("a:1:c1,a:1:c2,a:1:c3", "The resume cursor holds more than 2 channels.")]
    [InlineData("e\ndata x:1:chat/a", "The resume cursor's epochs are 1 to 64 printable ASCII characters.")]
    [InlineData("\u00e9poque:1:chat/a", "The resume cursor's epochs are 1 to 64 printable ASCII characters.")]
    public void A_malformed_cursor_is_refused_with_why(string text, string error)
    {
        Assert.False(ResumeCursor.TryParse(text, 2, out _, out var problem));
        Assert.StartsWith(error, problem, StringComparison.Ordinal);
    }
}
