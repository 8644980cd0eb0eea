using var cancel = new CancellationTokenSource();
// Ctrl+C stops training or sampling at the next step; model files are written only after success, so none is left half-written.
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
return ReflectedDiffusion.Cli.Cli.Run(args, Console.Out, Console.Error, cancel.Token);
