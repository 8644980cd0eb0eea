using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace ReflectedDiffusion.ML;

/// <summary>
/// Sends messages to an <see cref="MLContext"/>'s <see cref="MLContext.Log"/> through its public host-environment
/// channel (source "ReflectedDiffusion"); without a context, messages go nowhere.
/// </summary>
internal sealed class TrainingLog : IDisposable
{
    private readonly IChannel? _channel;

    public TrainingLog(MLContext? context) => _channel = (context as IHostEnvironment)?.Start("ReflectedDiffusion");

    public void Info(string message) => _channel?.Info(MessageSensitivity.None, message);

    /// <summary>A routine message (per-step progress), sent as <see cref="ChannelMessageKind.Trace"/> so that a reader can skip it.</summary>
    public void Trace(string message) => _channel?.Trace(MessageSensitivity.None, message);

    public void Dispose() => _channel?.Dispose();
}
