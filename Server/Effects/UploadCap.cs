using System.Collections.Immutable;
using ScriptFtp.Plugins;

namespace ScriptFtp;

/// <summary>
/// How much one upload may bring: at most <paramref name="max"/> bytes, each taken from every allowance as it arrives
/// (all or none). Settled once when the upload ends: the allowances get back what the home did not keep.
/// </summary>
internal sealed class UploadCap(long max, ImmutableArray<UploadAllowance> allowances)
{
    private long _taken;
    private bool _settled;

    /// <summary>A cap for a plugins' verdict, or null when it sets none.</summary>
    public static UploadCap? For(long? max, ImmutableArray<UploadAllowance> allowances) =>
        max is null && allowances.IsEmpty ? null : new UploadCap(max ?? long.MaxValue, allowances);

    /// <summary>The most this upload could have brought when it was cut off: what it took and what was left.</summary>
    public long Limit => allowances.IsEmpty ? max : Math.Min(max, _taken + allowances.Min(a => Math.Max(0, a.Remaining)));

    /// <summary>Takes <paramref name="bytes"/> more; false (nothing taken) when the limit or an allowance would be passed.</summary>
    public bool TryTake(long bytes)
    {
        if (_taken + bytes > max) return false;
        for (var i = 0; i < allowances.Length; i++)
        {
            if (allowances[i].TryTake(bytes)) continue;
            for (var j = 0; j < i; j++) allowances[j].Add(bytes);
            return false;
        }
        _taken += bytes;
        return true;
    }

    /// <summary>
    /// The upload is over and the home grew by <paramref name="kept"/> (0 when nothing was stored; negative when it shrank).
    /// </summary>
    public void Settle(long kept)
    {
        if (_settled) return;
        _settled = true;
        foreach (var allowance in allowances) allowance.Add(_taken - kept);
    }
}
