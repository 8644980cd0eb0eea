return ReflectedDiffusion.Cli.Cli.Run(args, Console.Out, Console.Error);
