namespace Nv.Host.Http.Ui;

/// <summary>One static file of the audit explorer, held in memory with its content type and a strong ETag.</summary>
internal sealed record UiAsset(string Path, byte[] Content, string ContentType, string ETag);
