using System.Text.RegularExpressions;

namespace ScriptFtp.Client;

// Pulls the data port out of EPSV (229) and PASV (227) replies.
internal static partial class PassiveReply
{
    // RFC 2428: 229 Entering Extended Passive Mode (|||6446|); the delimiter may be any printable character.
    public static int? EpsvPort(FtpReply reply)
    {
        var match = EpsvPattern().Match(reply.Lines[0]);
        return match.Success && int.TryParse(match.Groups["port"].Value, out var port) && port is > 0 and <= 65535 ? port : null;
    }

    // RFC 959: 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2), parentheses optional.
    public static int? PasvPort(FtpReply reply)
    {
        var match = PasvPattern().Match(reply.Lines[0]);
        if (!match.Success)
            return null;
        var numbers = match.Value.Split(',').Select(int.Parse).ToArray();
        if (numbers.Any(n => n > 255))
            return null;
        var port = numbers[4] * 256 + numbers[5];
        return port > 0 ? port : null;
    }

    [GeneratedRegex(@"\((?<d>[!-~])\k<d>\k<d>(?<port>\d{1,5})\k<d>\)")]
    private static partial Regex EpsvPattern();

    [GeneratedRegex(@"\d{1,3}(,\d{1,3}){5}")]
    private static partial Regex PasvPattern();
}
