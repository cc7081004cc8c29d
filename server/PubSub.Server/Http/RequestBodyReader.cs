using System.Globalization;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PubSub.Http;

/// <summary>
/// Reads the request body of <c>/send</c> and of the server API whole, within
/// <see cref="PubSubOptions.MaxMessageSize"/> and <see cref="PubSubOptions.RequestBodyTimeout"/>.
/// Kestrel's own guard (<c>MinRequestBodyDataRate</c>, 240 bytes/s) lets a body trickled just
/// above that rate hold a request for minutes (64 KB takes about 270 s), so the whole body gets one
/// deadline. A body that misses it, or that Kestrel refuses, is a client's problem: it gets a
/// quiet error response, never an unhandled exception.
/// </summary>
internal sealed partial class RequestBodyReader(IOptions<PubSubOptions> options, TimeProvider time, ILogger<RequestBodyReader> logger)
{
    private readonly int _limit = options.Value.MaxMessageSize;
    private readonly TimeSpan _timeout = options.Value.RequestBodyTimeout;

    /// <summary>
    /// The body, or null when it was refused (the error response is written: 413 over the limit,
    /// 408 when it did not arrive in time) or the client went away (nothing is written).
    /// <paramref name="what"/> names the body in the 413 message, for example <c>A /send body</c>.
    /// </summary>
    public async Task<byte[]?> ReadAsync(HttpContext context, string what)
    {
        if (context.Request.ContentLength > _limit)
        {
            await WriteTooLargeAsync(context, what);
            return null;
        }

        // The deadline cancels the pending read rather than passing a token to it: a read ended
        // by a token leaves Kestrel's body reader "in progress", and its drain after the response
        // then fails with an error log. An aborted connection ends the read by itself.
        var reader = context.Request.BodyReader;
        using var deadline = new CancellationTokenSource(_timeout, time);
        using var cancelOnDeadline = deadline.Token.UnsafeRegister(static state => ((PipeReader)state!).CancelPendingRead(), reader);
        try
        {
            using var body = new MemoryStream();
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                if (body.Length + buffer.Length > _limit)
                {
                    reader.AdvanceTo(buffer.End);
                    await WriteTooLargeAsync(context, what);
                    return null;
                }
                foreach (var segment in buffer)
                {
                    body.Write(segment.Span);
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    return body.ToArray();
                }
                if (result.IsCanceled || deadline.IsCancellationRequested)
                {
                    var why = $"all of it must arrive within {_timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s";
                    Log.BodyTimedOut(logger, context.Request.Path, why);
                    await WriteTimeoutAsync(context, why);
                    return null;
                }
            }
        }
        catch (Exception e) when (e is not BadHttpRequestException && (e is IOException or OperationCanceledException || context.RequestAborted.IsCancellationRequested))
        {
            // The connection is gone (BadHttpRequestException is an IOException too, but one that
            // Kestrel still answers): nobody to answer, and nothing wrong with the server.
            return null;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
        {
            // Kestrel's MinRequestBodyDataRate: too slow, as for the deadline.
            const string Why = "it came slower than the server's minimum data rate";
            Log.BodyTimedOut(logger, context.Request.Path, Why);
            await WriteTimeoutAsync(context, Why);
            return null;
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel refused the body for another reason. Mostly it ended early: the client
            // closed its side mid-body and Kestrel has already closed the connection, so this
            // answer (and a log line) would reach no one; otherwise it was malformed (chunks).
            context.Response.Headers.Connection = "close";
            var code = e.StatusCode == StatusCodes.Status413PayloadTooLarge ? PubSubErrorCodes.MessageTooLarge : PubSubErrorCodes.BadRequest;
            await HttpErrors.WriteAsync(context, e.StatusCode, code, $"The request body could not be read: {e.Message}");
            return null;
        }
    }

    private Task WriteTooLargeAsync(HttpContext context, string what) =>
        HttpErrors.WriteAsync(context, PubSubErrorCodes.MessageTooLarge, $"{what} may hold at most {_limit} bytes.");

    private static Task WriteTimeoutAsync(HttpContext context, string why)
    {
        // The rest of the body may still be on its way: the connection cannot carry another request.
        context.Response.Headers.Connection = "close";
        return HttpErrors.WriteAsync(context, StatusCodes.Status408RequestTimeout, PubSubErrorCodes.BadRequest, $"The request body did not arrive in time: {why}.");
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "The request body of {Path} did not arrive in time: {Reason}.")]
        public static partial void BodyTimedOut(ILogger logger, PathString path, string reason);
    }
}
