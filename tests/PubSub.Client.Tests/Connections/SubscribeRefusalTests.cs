using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Connections;

/// <summary>
/// What a refused subscribe does is decided by its code, as protocol/error-codes.json says (and
/// as client-js does): a refusal that passes by itself (<c>later</c>) is asked again after a
/// backoff, one that means the session is gone (<c>reconnect</c>) is asked again on a new session,
/// and any other (<c>never</c>) ends the subscription with the server's code.
/// </summary>
public sealed class SubscribeRefusalTests
{
    public static TheoryData<string, string> ServerCodes
    {
        get
        {
            var cases = new TheoryData<string, string>();
            foreach (var (code, retry, _) in ProtocolVectors.ErrorCodes("server"))
            {
                cases.Add(code, retry);
            }
            return cases;
        }
    }

    [Theory, MemberData(nameof(ServerCodes))]
    public async Task A_refused_first_subscribe_is_asked_again_or_ends_as_its_code_says(string code, string retry)
    {
        var refusals = 1;
        await using var node = await TestNode.StartAsync(options => options.Channel("flaky/{x}", c => c.History(100, TimeSpan.FromMinutes(5)).OnSubscribe(context =>
        {
            if (Interlocked.Decrement(ref refusals) >= 0)
            {
                context.Reject(code, "Refused once (test).");
            }
            return ValueTask.CompletedTask;
        })));
        await using var client = await ClientHarness.ConnectAsync(node);

        if (retry == "never")
        {
            var error = await Assert.ThrowsAsync<PubSubException>(() => client.SubscribeAsync("flaky/a").WithTimeout("the subscribe to fail"));
            Assert.Equal(code, error.Code);
            return;
        }
        await using var subscription = await client.SubscribeAsync("flaky/a").WithTimeout("the subscribe to be asked again and accepted");
        await node.PublishNumbersAsync("flaky/a", [1]);
        Assert.Equal([1], (await subscription.ReadAsync(1)).Select(m => m.N()));
        Assert.Equal(-1, Volatile.Read(ref refusals));
    }
}
