using Microsoft.Extensions.Options;
using Nv.Audit;

namespace Nv.Host.Http.Auth;

/// <summary>Decides which denials (401/403) are written to the audit trail one by one and counts the others, per window
/// (<see cref="HttpOptions.DenialAuditWindow"/>): each address gets <see cref="HttpOptions.DenialAuditsPerAddress"/>
/// entries of its own, the host <see cref="HttpOptions.DenialAuditsPerWindow"/>; everything past that is counted, by
/// address and kind, and <see cref="EndWindow"/> hands the counts over for one summary entry each.</summary>
/// <remarks>Nothing is dropped: every denial is either admitted (its caller writes it) or counted, and every count is
/// returned by the next <see cref="EndWindow"/> (the counts live in memory: a crash loses the current window's, never an
/// entry written one by one). A counted denial costs a dictionary lookup under a lock, no I/O. Memory is
/// bounded: at most <see cref="HttpOptions.DenialAuditAddresses"/> addresses are counted one by one per window, further
/// ones together under <see cref="OtherAddresses"/>, and at most <see cref="SubjectSamples"/> subjects are kept per
/// address and kind. Thread-safe: request threads admit, the summary writer ends windows.</remarks>
internal sealed class DenialLimiter
{
    /// <summary>The address denials are counted under once <see cref="HttpOptions.DenialAuditAddresses"/> are counted.</summary>
    public const string OtherAddresses = "other";

    /// <summary>Distinct subjects kept per address and kind for its summary.</summary>
    public const int SubjectSamples = 8;

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly int _perAddress;
    private readonly int _perWindow;
    private readonly int _maxAddresses;
    private Dictionary<string, Tally> _tallies = new(StringComparer.Ordinal);
    private int _itemized;
    private DateTimeOffset _windowStart;

    public DenialLimiter(IOptions<HttpOptions> options, TimeProvider time)
    {
        var http = options.Value;
        _time = time;
        _perAddress = http.DenialAuditsPerAddress;
        _perWindow = http.DenialAuditsPerWindow;
        _maxAddresses = http.DenialAuditAddresses;
        Window = http.DenialAuditWindow;
        _windowStart = time.GetUtcNow();
    }

    public TimeSpan Window { get; }

    /// <summary>True: the caller writes this denial as an entry of its own. False: it is counted for this window's
    /// summary of <paramref name="address"/> (or of <see cref="OtherAddresses"/>).</summary>
    public bool Admit(string address, AuditCategory category, string subject)
    {
        lock (_gate)
        {
            if (!_tallies.TryGetValue(address, out var tally))
            {
                if (_tallies.Count >= _maxAddresses)
                {
                    address = OtherAddresses; // the table is full: counted together, never written one by one
                    tally = _tallies.GetValueOrDefault(address);
                }

                if (tally is null)
                {
                    tally = new Tally();
                    _tallies.Add(address, tally);
                }
            }

            var kind = tally.Of(category);
            if (address != OtherAddresses && tally.Itemized < _perAddress && _itemized < _perWindow)
            {
                tally.Itemized++;
                _itemized++;
                kind.Itemized++;
                return true;
            }

            kind.Count++;
            if (kind.Subjects.Count < SubjectSamples)
            {
                if (!kind.Subjects.Contains(subject))
                {
                    kind.Subjects.Add(subject);
                }
            }
            else if (!kind.Subjects.Contains(subject))
            {
                kind.MoreSubjects = true;
            }

            return false;
        }
    }

    /// <summary>Ends the current window and starts the next: one summary per address and kind that counted denials
    /// (ordered by address, then kind).</summary>
    public IReadOnlyList<DenialSummary> EndWindow()
    {
        Dictionary<string, Tally> ended;
        DateTimeOffset start;
        DateTimeOffset end;
        lock (_gate)
        {
            end = _time.GetUtcNow();
            ended = _tallies;
            start = _windowStart;
            _tallies = new Dictionary<string, Tally>(StringComparer.Ordinal);
            _itemized = 0;
            _windowStart = end;
        }

        var summaries = new List<DenialSummary>();
        foreach (var (address, tally) in ended.OrderBy(static t => t.Key, StringComparer.Ordinal))
        {
            foreach (var (category, kind) in new[] { (AuditCategory.Authentication, tally.Authentication), (AuditCategory.Permission, tally.Permission) })
            {
                if (kind is { Count: > 0 })
                {
                    summaries.Add(new DenialSummary(address, category, kind.Count, kind.Itemized, kind.Subjects, kind.MoreSubjects, start, end));
                }
            }
        }

        return summaries;
    }

    private sealed class Tally
    {
        public int Itemized;
        public Kind? Authentication;
        public Kind? Permission;

        public Kind Of(AuditCategory category) => category == AuditCategory.Authentication
            ? Authentication ??= new Kind()
            : Permission ??= new Kind();
    }

    private sealed class Kind
    {
        public long Count;
        public int Itemized;
        public bool MoreSubjects;
        public List<string> Subjects { get; } = [];
    }
}
