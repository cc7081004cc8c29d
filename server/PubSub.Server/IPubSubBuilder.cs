using Microsoft.Extensions.DependencyInjection;

namespace PubSub;

/// <summary>Returned by <c>AddPubSub()</c>, for the calls that configure it further, such as choosing a broker.</summary>
public interface IPubSubBuilder
{
    /// <summary>The application's services, to which PubSub's were added.</summary>
    IServiceCollection Services { get; }
}
