using PubSub.Redis;
using StackExchange.Redis;

namespace PubSub.Server.Redis.Tests;

public sealed class RedisShardTests
{
    [Fact]
    public void A_refusal_of_the_credentials_stands_whatever_later_attempts_report()
    {
        // A wrong password's attempts as StackExchange.Redis reports them: a connection reset while
        // it waited for its AUTH reply fails as UnableToConnect, between refusals.
        ConnectionFailureType[] reported =
        [
            ConnectionFailureType.AuthenticationFailure,
            ConnectionFailureType.UnableToConnect,
            ConnectionFailureType.SocketFailure,
            ConnectionFailureType.SocketClosed,
        ];

        var remembered = reported.Aggregate(ConnectionFailureType.None, RedisShard.RememberFailure);

        Assert.Equal(ConnectionFailureType.AuthenticationFailure, remembered);
    }

    [Fact]
    public void A_refusal_after_other_failures_is_remembered()
    {
        ConnectionFailureType[] reported = [ConnectionFailureType.UnableToConnect, ConnectionFailureType.UnableToConnect, ConnectionFailureType.AuthenticationFailure];

        Assert.Equal(ConnectionFailureType.AuthenticationFailure, reported.Aggregate(ConnectionFailureType.None, RedisShard.RememberFailure));
    }

    [Fact]
    public void Any_other_failure_counts_until_the_next()
    {
        Assert.Equal(ConnectionFailureType.SocketFailure, RedisShard.RememberFailure(ConnectionFailureType.UnableToConnect, ConnectionFailureType.SocketFailure));
        Assert.Equal(ConnectionFailureType.UnableToConnect, RedisShard.RememberFailure(ConnectionFailureType.None, ConnectionFailureType.UnableToConnect));
    }
}
