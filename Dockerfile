# A PubSub node (server/PubSub.Host). Without configuration it runs on the in-memory broker;
# set PubSub__Redis__Configuration to scale out (see docker-compose.yml and docs/deployment.md).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY server/ server/
RUN dotnet publish server/PubSub.Host -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
ENV Urls=http://+:8080
EXPOSE 8080
USER app
ENTRYPOINT ["dotnet", "PubSub.Host.dll"]
