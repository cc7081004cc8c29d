using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.OpenApi;

namespace PubSub.Host;

/// <summary>
/// The OpenAPI description of the server API at <c>/openapi/v1.json</c>: every endpoint of
/// <c>MapPubSubApi</c> with its request and response bodies and its error statuses (the library
/// declares them on the endpoints; this only serves the document). Nothing else of the Host is in it.
/// </summary>
internal static class HostOpenApi
{
    public const string DocumentPath = "/openapi/{documentName}.json";

    private const string ApiKeyScheme = "apiKey";

    public static void AddServerApiDocument(this WebApplicationBuilder builder) =>
        builder.Services.AddOpenApi(options =>
        {
            options.ShouldInclude = description => description.ActionDescriptor.EndpointMetadata
                .OfType<ITagsMetadata>().Any(tags => tags.Tags.Contains("PubSub server API"));
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "PubSub server API";
                document.Info.Description = "For back-end code (docs/protocol.md, section 4). Every call carries the API key in the X-API-Key header; errors have the body {\"error\":{\"code\",\"message\"}}.";
                // Declared once for the whole document, so generated clients and API consoles send the key on every call.
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[ApiKeyScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = "X-API-Key",
                    Description = "The server API key (PubSub:ApiKey); a call without it, or with another, is answered 401 unauthorized.",
                };
                document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, document)] = [] }];
                return Task.CompletedTask;
            });
        });

    public static void MapServerApiDocument(this WebApplication app) => app.MapOpenApi(DocumentPath);
}
