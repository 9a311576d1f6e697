namespace Nv.Host.Http;

/// <summary>What <see cref="ChangeStreamLimit.TryEnter"/> answered.</summary>
internal enum ChangeStreamAdmission
{
    /// <summary>The stream holds a slot until it ends.</summary>
    Entered,

    /// <summary>Every slot of the host is taken (<see cref="HttpOptions.MaxChangeFeedStreams"/>).</summary>
    HostFull,

    /// <summary>The caller's key holds every slot one key may (<see cref="HttpOptions.MaxChangeFeedStreamsPerKey"/>).</summary>
    KeyFull,
}
