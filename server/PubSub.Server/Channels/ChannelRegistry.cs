using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.Options;
using PubSub.Protocol;

namespace PubSub.Channels;

/// <summary>A channel name resolved to the template that governs it.</summary>
/// <remarks>One match serves every request for its channel (<see cref="ChannelRegistry"/> keeps them): never change <see cref="RouteValues"/>.</remarks>
internal sealed record ChannelMatch(string Channel, ChannelOptions Options, RouteValueDictionary RouteValues);

/// <summary>
/// Validates channel names and matches them against the configured templates with ASP.NET Core's
/// route matching, so templates read like routes: <c>chat/{room}</c>, <c>users/{id:int}</c>,
/// <c>feeds/{**path}</c>. The most specific template wins, as in endpoint routing; among equally
/// specific ones, the first registered.
/// </summary>
internal sealed class ChannelRegistry
{
    // Printable ASCII except ',' (the SSE cursor separator) and the two characters JSON escapes.
    private static readonly SearchValues<char> s_allowed = SearchValues.Create(
        Enumerable.Range(0x21, 0x7E - 0x21 + 1).Select(c => (char)c).Where(c => c is not (',' or '"' or '\\')).ToArray());

    /// <summary>How many resolved names are kept; names beyond are resolved each time.</summary>
    internal const int MaxKept = 10_000;

    private readonly Template[] _templates;
    private readonly int _maxLength;
    // Matching runs ASP.NET Core's template matcher over each template, allocating route values
    // on every try; a channel's match never changes, and the channels in use are asked for again
    // and again (every publish and subscribe). Bounded because clients choose the names.
    private readonly ConcurrentDictionary<string, ChannelMatch> _kept = new(StringComparer.Ordinal);
    private int _keptCount;

    public ChannelRegistry(IOptions<PubSubOptions> options, IInlineConstraintResolver constraintResolver)
    {
        _maxLength = options.Value.MaxChannelLength;
        _templates = options.Value.Channels
            .Select((channel, index) => new Template(channel, index, constraintResolver))
            .OrderBy(t => t.Precedence)
            .ThenBy(t => t.Index)
            .ToArray();
    }

    /// <summary>Resolves a channel name, or says why it is refused (<c>invalid_channel</c>, <c>unknown_channel</c>).</summary>
    /// <param name="keep">
    /// Keep the match for the next time: for publishes and subscribes, the requests a channel in
    /// use gets again and again. Reads (history, presence) do not keep theirs, so asking about
    /// fresh names costs the node no memory (StreamExhaustionTests).
    /// </param>
    public bool TryResolve(string? channel, out ChannelMatch? match, out ProtocolError error, bool keep = false)
    {
        if (channel is not null && _kept.TryGetValue(channel, out match))
        {
            error = default;
            return true;
        }
        match = null;
        if (!IsValidName(channel, _maxLength))
        {
            error = new(PubSubErrorCodes.InvalidChannel,
                $"A channel name has 1 to {_maxLength} printable ASCII characters, without spaces, ',', '\"' or '\\'.");
            return false;
        }

        var path = new PathString("/" + channel);
        foreach (var template in _templates)
        {
            var values = new RouteValueDictionary();
            if (template.TryMatch(path, values))
            {
                match = new ChannelMatch(channel!, template.Options, values);
                if (keep)
                {
                    Keep(match);
                }
                error = default;
                return true;
            }
        }

        error = new(PubSubErrorCodes.UnknownChannel, $"No channel template matches '{channel}'.");
        return false;
    }

    private void Keep(ChannelMatch match)
    {
        if (Volatile.Read(ref _keptCount) < MaxKept && _kept.TryAdd(match.Channel, match))
        {
            Interlocked.Increment(ref _keptCount);
        }
    }

    /// <summary>Resolves a channel name or throws the <see cref="PubSubException"/> that says why not.</summary>
    public ChannelMatch Resolve(string channel, bool keep = false) =>
        TryResolve(channel, out var match, out var error, keep) ? match! : throw new PubSubException(error.Code, error.Message);

    public static bool IsValidName(string? channel, int maxLength) =>
        !string.IsNullOrEmpty(channel) && channel.Length <= maxLength && !channel.AsSpan().ContainsAnyExcept(s_allowed);

    private sealed class Template
    {
        private readonly TemplateMatcher _matcher;
        private readonly (string Parameter, IRouteConstraint Constraint)[] _constraints;

        public Template(ChannelOptions options, int index, IInlineConstraintResolver constraintResolver)
        {
            Options = options;
            Index = index;
            var pattern = RoutePatternFactory.Parse(options.Template);
            var routeTemplate = new RouteTemplate(pattern);
            Precedence = RoutePrecedence.ComputeInbound(routeTemplate);
            _matcher = new TemplateMatcher(routeTemplate, new RouteValueDictionary(pattern.Defaults));
            _constraints = pattern.ParameterPolicies
                .SelectMany(policies => policies.Value.Select(policy => (policies.Key, policy.Content)))
                .Select(p => (p.Key, constraintResolver.ResolveConstraint(p.Content!)
                    ?? throw new InvalidOperationException($"Channel template '{options.Template}': unknown constraint '{p.Content}'.")))
                .ToArray();
        }

        public ChannelOptions Options { get; }

        public int Index { get; }

        public decimal Precedence { get; }

        public bool TryMatch(PathString path, RouteValueDictionary values)
        {
            if (!_matcher.TryMatch(path, values))
            {
                return false;
            }
            foreach (var (parameter, constraint) in _constraints)
            {
                if (!constraint.Match(httpContext: null, route: null, parameter, values, RouteDirection.IncomingRequest))
                {
                    return false;
                }
            }
            return true;
        }
    }
}
