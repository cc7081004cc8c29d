namespace PubSub.Control;

/// <summary>The channel patterns of <see cref="IPubSubControl.ChannelsAsync"/>: <c>*</c> any run of characters, <c>?</c> any one, the rest literal.</summary>
internal static class Glob
{
    public static bool IsMatch(string pattern, string text)
    {
        // The classic linear walk: on a mismatch, go back to just after the last '*' and let it take one more character.
        int p = 0, t = 0, star = -1, resume = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++resume;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }
}
