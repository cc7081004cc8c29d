using System.Threading.Channels;

namespace PubSub.Testing;

/// <summary>An <see cref="IBrokerHandler"/> that records what a broker delivers, for the tests to await.</summary>
public sealed class RecordingBrokerHandler : IBrokerHandler
{
    private readonly Channel<Publication> _publications = Channel.CreateUnbounded<Publication>();
    private readonly Channel<byte[]> _messages = Channel.CreateUnbounded<byte[]>();
    private readonly Channel<PresenceEvent> _presence = Channel.CreateUnbounded<PresenceEvent>();

    public void OnPublication(Publication publication) => _publications.Writer.TryWrite(publication);

    public void OnNodeMessage(ReadOnlyMemory<byte> message) => _messages.Writer.TryWrite(message.ToArray());

    public void OnPresence(PresenceEvent presence) => _presence.Writer.TryWrite(presence);

    public Task<PresenceEvent> NextPresenceAsync() =>
        _presence.Reader.ReadAsync().AsTask().WithTimeout("a join or leave from the broker");

    public bool HasPresence => _presence.Reader.TryPeek(out _);

    public Task<Publication> NextPublicationAsync() =>
        _publications.Reader.ReadAsync().AsTask().WithTimeout("a publication from the broker");

    public async Task<List<Publication>> PublicationsAsync(int count)
    {
        var list = new List<Publication>(count);
        while (list.Count < count)
        {
            list.Add(await NextPublicationAsync());
        }
        return list;
    }

    public Task<byte[]> NextNodeMessageAsync() =>
        _messages.Reader.ReadAsync().AsTask().WithTimeout("a node message from the broker");

    public bool HasNodeMessage => _messages.Reader.TryPeek(out _);
}
