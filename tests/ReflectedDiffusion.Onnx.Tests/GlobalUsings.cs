global using TorchSharp;
global using Xunit;
global using Xunit.Abstractions;
global using static TorchSharp.torch;
