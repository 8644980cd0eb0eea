using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("ReflectedDiffusion.Onnx.Tests")]
