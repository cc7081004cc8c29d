using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Diagnostics;
using PubSub.Node;

namespace PubSub.Control;

/// <summary>
/// Requests from one node to others and their answers, as node-to-node messages through the
/// broker: what <see cref="IPubSubControl"/> needs from the nodes that hold the sessions. A request
/// to every node goes to each node the broker lists as alive (<see cref="IBroker.GetNodesAsync"/>);
/// this node answers its own part in process. Each answer is awaited at most
/// <see cref="PubSubOptions.NodeRequestTimeout"/>: a node that does not answer in time is reported
/// as such, not waited for; one the broker no longer knows (it stopped meanwhile) holds no sessions
/// and is left out.
/// </summary>
/// <remarks>
/// A message is one JSON object, <c>{"kind":"control","id":..,"from":..,"request":{..}}</c>, and
/// its answer <c>{"kind":"control-answer","id":..,"from":..,"answer":{..}}</c>. Other handlers
/// (<c>SessionForwarder</c>) ignore these kinds, and this one ignores theirs.
/// </remarks>
internal sealed partial class NodeRequests : INodeMessageHandler
{
    public const string RequestKind = "control";
    public const string AnswerKind = "control-answer";

    private static ReadOnlySpan<byte> ControlPrefix => "{\"kind\":\"control"u8;

    private readonly ConcurrentDictionary<string, TaskCompletionSource<ControlAnswer>> _pending = new(StringComparer.Ordinal);
    private readonly MeasuredBroker _broker;
    private readonly NodeIdentity _identity;
    private readonly NodeControl _local;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    public NodeRequests(MeasuredBroker broker, NodeIdentity identity, NodeControl local, TimeProvider time, IOptions<PubSubOptions> options, ILogger<NodeRequests> logger)
    {
        _broker = broker;
        _identity = identity;
        _local = local;
        _time = time;
        _timeout = options.Value.NodeRequestTimeout;
        _logger = logger;
    }

    /// <summary>Asks every live node; the answers by node, and the nodes that did not answer in time.</summary>
    /// <exception cref="PubSubException"><c>unavailable</c> when the broker cannot list the nodes.</exception>
    public async Task<(List<(string Node, ControlAnswer Answer)> Answers, List<string> Unanswered)> AskAllAsync(ControlRequest request, CancellationToken cancellationToken)
    {
        var nodes = (await _broker.GetNodesAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        nodes.Add(_identity.Id);
        var asked = nodes.Order(StringComparer.Ordinal).ToList();
        var answers = await Task.WhenAll(asked.Select(node => AskAsync(node, request, cancellationToken)));
        var answered = new List<(string, ControlAnswer)>();
        var unanswered = new List<string>();
        for (var i = 0; i < asked.Count; i++)
        {
            switch (answers[i])
            {
                case { Outcome: AskOutcome.Answered } a:
                    answered.Add((asked[i], a.Answer!));
                    break;
                case { Outcome: AskOutcome.Silent }:
                    unanswered.Add(asked[i]);
                    break;
            }
        }
        return (answered, unanswered);
    }

    /// <summary>Asks one node (this one in process).</summary>
    public async Task<(AskOutcome Outcome, ControlAnswer? Answer)> AskAsync(string node, ControlRequest request, CancellationToken cancellationToken)
    {
        if (node == _identity.Id)
        {
            return (AskOutcome.Answered, await _local.HandleAsync(request));
        }
        var id = Guid.NewGuid().ToString("N");
        var answer = new TaskCompletionSource<ControlAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        try
        {
            var message = Encode(new ControlEnvelope { Kind = RequestKind, Id = id, From = _identity.Id, Request = request });
            if (!await _broker.SendToNodeAsync(node, message, cancellationToken))
            {
                return (AskOutcome.Gone, null);
            }
            return (AskOutcome.Answered, await answer.Task.WaitAsync(_timeout, _time, cancellationToken));
        }
        catch (TimeoutException)
        {
            Log.NodeSilent(_logger, node, request.Operation, _timeout.TotalSeconds);
            return (AskOutcome.Silent, null);
        }
        catch (PubSubException e) when (e.Code is PubSubErrorCodes.Unavailable or PubSubErrorCodes.Timeout)
        {
            // The broker did not take the request for that node: it is not known to have answered.
            Log.NodeSilent(_logger, node, request.Operation, 0);
            return (AskOutcome.Silent, null);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public void OnNodeMessage(ReadOnlyMemory<byte> message)
    {
        if (!message.Span.StartsWith(ControlPrefix))
        {
            return;
        }
        try
        {
            var envelope = JsonSerializer.Deserialize(message.Span, ControlJsonContext.Default.ControlEnvelope);
            switch (envelope)
            {
                case { Kind: AnswerKind, Answer: { } answer }:
                    _pending.GetValueOrDefault(envelope.Id)?.TrySetResult(answer);
                    break;
                case { Kind: RequestKind, Request: { } request }:
                    _ = AnswerAsync(envelope.Id, envelope.From, request);
                    break;
            }
        }
        catch (JsonException e)
        {
            Log.BadMessage(_logger, e);
        }
    }

    private async Task AnswerAsync(string id, string from, ControlRequest request)
    {
        try
        {
            var answer = await _local.HandleAsync(request);
            await _broker.SendToNodeAsync(from, Encode(new ControlEnvelope { Kind = AnswerKind, Id = id, From = _identity.Id, Answer = answer }), CancellationToken.None);
        }
        catch (Exception e)
        {
            Log.AnswerFailed(_logger, request.Operation, from, e);
        }
    }

    private static byte[] Encode(ControlEnvelope envelope) => JsonSerializer.SerializeToUtf8Bytes(envelope, ControlJsonContext.Default.ControlEnvelope);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Node {Node} did not answer a control request ({Operation}) within {Seconds} s; it is reported as not answering.")]
        public static partial void NodeSilent(ILogger logger, string node, ControlOperation operation, double seconds);

        [LoggerMessage(2, LogLevel.Warning, "A control message could not be read.")]
        public static partial void BadMessage(ILogger logger, Exception exception);

        [LoggerMessage(3, LogLevel.Error, "Answering a control request ({Operation}) from node {From} failed.")]
        public static partial void AnswerFailed(ILogger logger, ControlOperation operation, string from, Exception exception);
    }
}

/// <summary>What became of a request to one node.</summary>
internal enum AskOutcome
{
    Answered,
    /// <summary>The node did not answer in time (or the broker did not take the request).</summary>
    Silent,
    /// <summary>The broker knows no such node: it stopped, and its sessions with it.</summary>
    Gone,
}
