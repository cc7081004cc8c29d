using Microsoft.AspNetCore.SignalR;

namespace SignalRReference;

/// <summary>
/// Pub/sub the way SignalR users build it: a group per topic. <c>Publish</c> sends to the group,
/// which SignalR serializes once per protocol and writes to every member. No history, no
/// recovery: what PubSub's channels add is not asked of the reference.
/// </summary>
public sealed class TopicHub : Hub
{
    public Task Subscribe(string topic) => Groups.AddToGroupAsync(Context.ConnectionId, topic);

    public Task Unsubscribe(string topic) => Groups.RemoveFromGroupAsync(Context.ConnectionId, topic);

    public Task Publish(string topic, string payload) => Clients.Group(topic).SendAsync("message", topic, payload);
}
