
namespace ReflectedDiffusion.Tests;

/// <summary>TorchSharp's RNG and thread settings are process-global: every torch test joins this collection.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    public const string Name = "Torch";
}
