namespace PubSub.Testing;

/// <summary>
/// How long a test waits for something that should happen. Generous, because a loaded CI machine
/// is slow; a wait that runs out fails the test with a message instead of hanging the run.
/// </summary>
public static class Timeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(15);

    /// <summary>Awaits <paramref name="task"/>, failing with <paramref name="what"/> if it takes longer than <paramref name="timeout"/>.</summary>
    public static async Task<T> WithTimeout<T>(this Task<T> task, string what, TimeSpan? timeout = null)
    {
        try
        {
            return await task.WaitAsync(timeout ?? Default);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {(timeout ?? Default).TotalSeconds} s waiting for {what}.");
        }
    }

    public static async Task WithTimeout(this Task task, string what, TimeSpan? timeout = null)
    {
        try
        {
            await task.WaitAsync(timeout ?? Default);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {(timeout ?? Default).TotalSeconds} s waiting for {what}.");
        }
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, for server state that raises no event of its
    /// own (a session count): it looks again every few milliseconds until the timeout.
    /// </summary>
    public static async Task Until(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {(timeout ?? Default).TotalSeconds} s waiting until {what}.");
            }
            await Task.Delay(5);
        }
    }

    /// <summary>As <see cref="Until(Func{bool}, string, TimeSpan?)"/>, for state that takes a round trip to read (a key in Redis).</summary>
    /// <param name="every">
    /// How long to wait between two looks; longer than the default where one look is many round
    /// trips (a whole cluster's topology), so the polling does not starve what it waits for.
    /// </param>
    public static async Task Until(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {(timeout ?? Default).TotalSeconds} s waiting until {what}.");
            }
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(5));
        }
    }
}
