namespace ReflectedDiffusion.Sde;

/// <summary>
/// The elementwise operations of one backend (doubles, tensors, ONNX graph nodes) that the schedule's formulas are
/// written in, so each formula exists once and every backend evaluates it in the same order.
/// </summary>
/// <param name="Scale">A constant times a value.</param>
/// <param name="Multiply">The product of two values.</param>
/// <param name="Exp">The exponential of a value.</param>
internal sealed record Arithmetic<T>(Func<double, T, T> Scale, Func<T, T, T> Multiply, Func<T, T> Exp);
