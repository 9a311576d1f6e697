namespace Nv.Unit.Tests.Mongo;

/// <summary>Tests that set process environment variables run alone.</summary>
[CollectionDefinition("environment", DisableParallelization = true)]
public sealed class EnvironmentTestGroup;
