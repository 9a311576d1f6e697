using Orders.Ordering;

// An Orders service with Nv inside: every change to an order goes through Nv's write-ahead log, is applied to the
// embedded SQLite store and gets an audit entry, in this process. Settings: the "Nv" section of appsettings.json
// (Nv:DataDirectory holds the WAL, the entity store and the audit trail).
var builder = WebApplication.CreateBuilder(args);
builder.AddNv();
builder.Services.AddHealthChecks().AddNv();
builder.Services.AddProblemDetails();
builder.Services.AddSingleton<OrderService>();

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.MapHealthChecks("/health/live", new() { Predicate = c => c.Tags.Contains(NvHealthChecksBuilderExtensions.LiveTag) });
app.MapHealthChecks("/health/ready", new() { Predicate = c => c.Tags.Contains(NvHealthChecksBuilderExtensions.ReadyTag) });
app.MapOrderEndpoints();
app.Run();

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
