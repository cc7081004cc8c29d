using System.Reflection;

namespace PubSub.Client.Tests.Protocol;

/// <summary>
/// The client keeps its own copy of the protocol's error codes (it depends on nothing of the
/// server's); this keeps the copy from drifting.
/// </summary>
public sealed class ErrorCodesTests
{
    [Fact]
    public void Every_code_the_server_sends_is_a_named_code_of_the_client()
    {
        var server = Codes(typeof(PubSub.PubSubErrorCodes));
        var client = Codes(typeof(PubSubErrorCodes));

        Assert.NotEmpty(server);
        Assert.All(server, code => Assert.Contains(code, client));
    }

    private static Dictionary<string, string> Codes(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .ToDictionary(f => f.Name, f => (string)f.GetRawConstantValue()!);
}
