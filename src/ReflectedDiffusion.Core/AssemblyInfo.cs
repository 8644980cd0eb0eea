using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("ReflectedDiffusion.Onnx")]
[assembly: InternalsVisibleTo("ReflectedDiffusion.Core.Tests")]
