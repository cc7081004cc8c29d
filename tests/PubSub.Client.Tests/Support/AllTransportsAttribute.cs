using System.Reflection;
using Xunit.Sdk;

namespace PubSub.Client.Tests.Support;

/// <summary>Runs a theory once per transport.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class AllTransportsAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) =>
        ClientHarness.AllTransports.Select(t => new object[] { t });
}
