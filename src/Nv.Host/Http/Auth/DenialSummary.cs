using Nv.Audit;

namespace Nv.Host.Http.Auth;

/// <summary>What one window counted of one kind of denial from one address, beyond those written one by one.</summary>
/// <param name="Address">The address counted under (<see cref="DenialAddress"/>), or <see cref="DenialLimiter.OtherAddresses"/>.</param>
/// <param name="Category"><see cref="AuditCategory.Authentication"/> (401) or <see cref="AuditCategory.Permission"/> (403).</param>
/// <param name="Count">Denials counted and not written one by one.</param>
/// <param name="Itemized">Denials of this kind from this address written one by one in the same window.</param>
/// <param name="Subjects">The first distinct subjects seen among the counted ones (key hash prefixes, <c>anonymous</c>, key names).</param>
/// <param name="MoreSubjects">Whether more distinct subjects were seen than <paramref name="Subjects"/> holds.</param>
/// <param name="WindowStart">When the window began.</param>
/// <param name="WindowEnd">When it ended.</param>
internal sealed record DenialSummary(
    string Address, AuditCategory Category, long Count, int Itemized, IReadOnlyList<string> Subjects, bool MoreSubjects,
    DateTimeOffset WindowStart, DateTimeOffset WindowEnd);
