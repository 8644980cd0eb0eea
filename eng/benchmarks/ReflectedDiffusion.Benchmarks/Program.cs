// Benchmarks that print figures (not tests). Usage:
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- train-speed [steps]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- samplers [samples]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- scoring [rows]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- out-of-data [rdiff-demo/model.zip]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- gflops [steps]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- conv2d-check [draws]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- unet-check [draws] [batch]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- kernel-speed [batches]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- versus-pytorch [seconds] [rounds] [sample rows] [likelihood rows]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- anomaly [splits] [steps] [data sets, comma-separated: breast,penguins,digits]
//     environment overrides for experiments: ANOMALY_SIGMA (a fixed SigmaMin), ANOMALY_TAIL (a fixed TailBandwidth),
//     ANOMALY_DEBUG=1 (the estimator's bandwidth and tail log lines, and score quantiles inside and outside the bounds)
//     ANOMALY_SCORE=likelihood|multiscale (the AnomalyScore option), ANOMALY_RATIO=s (with ANOMALY_SCORE=likelihood:
//     the score as a likelihood ratio against the same network at bandwidth s), ANOMALY_HELDOUT=share (the multiscale
//     reference fitted on that share of the training rows, held out from the network's training)
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- likelihood-steps [breast,penguins] [training steps]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- network-size [breast,penguins,digits] [splits] [256x3,128x2; WxBn: NeumannFaces]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- scoring-paths [rows] [row-at-a-time rows] [training steps] [SigmaMin|auto] [settings: rk4:100,tol:1e-4] [rounds]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- table-quality [steps] [rows] [out folder]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- table-proportions [csv] [steps] [rows] [seeds] [sigma_min]
using ReflectedDiffusion.Benchmarks;

var command = args.Length > 0 ? args[0] : "help";
switch (command)
{
    case "train-speed":
        TrainSpeed.Run(args.Length > 1 ? int.Parse(args[1]) : 30);
        break;
    case "gflops":
        Gflops.Run(args.Length > 1 ? int.Parse(args[1]) : 60);
        break;
    case "samplers":
        SamplerTable.Run(args.Length > 1 ? int.Parse(args[1]) : 20_000);
        break;
    case "scoring":
        ScoringThroughput.Run(args.Length > 1 ? int.Parse(args[1]) : 2000);
        break;
    case "out-of-data":
        OutOfDataLikelihood.Run(args.Length > 1 ? args[1] : "rdiff-demo/model.zip");
        break;
    case "conv2d-check":
        Conv2dCheck.Run(args.Length > 1 ? int.Parse(args[1]) : 3);
        break;
    case "unet-check":
        UNetCheck.Run(args.Length > 1 ? int.Parse(args[1]) : 10, args.Length > 2 ? int.Parse(args[2]) : 128);
        break;
    case "kernel-speed":
        KernelSpeed.Run(args.Length > 1 ? int.Parse(args[1]) : 200);
        break;
    case "versus-pytorch":
        VersusPyTorch.Run(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3,
            args.Length > 2 ? int.Parse(args[2]) : 2, args.Length > 3 ? int.Parse(args[3]) : 200, args.Length > 4 ? int.Parse(args[4]) : 64);
        break;
    case "anomaly":
        AnomalyBenchmark.Run(args.Length > 1 ? int.Parse(args[1]) : 3, args.Length > 2 ? int.Parse(args[2]) : 1000, args.Length > 3 ? args[3].Split(',') : null);
        break;
    case "likelihood-steps":
        LikelihoodSteps.Run(args.Length > 1 ? args[1].Split(',') : ["breast", "penguins"], args.Length > 2 ? int.Parse(args[2]) : 1000);
        break;
    case "network-size":
        NetworkSize.Run(args.Length > 1 ? args[1].Split(',') : ["breast", "penguins", "digits"], args.Length > 2 ? int.Parse(args[2]) : 3,
            (args.Length > 3 ? args[3] : "256x3,128x2").Split(',').Select(s => (Size: s.TrimEnd('n').Split('x'), Neumann: s.EndsWith('n'))).Select(p => (int.Parse(p.Size[0]), int.Parse(p.Size[1]), p.Neumann)).ToList());
        break;
    case "scoring-paths":
        ScoringPaths.Run(args.Length > 1 ? int.Parse(args[1]) : 200, args.Length > 2 ? int.Parse(args[2]) : 20, args.Length > 3 ? int.Parse(args[3]) : 2000,
            args.Length > 4 && args[4] != "auto" ? double.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : null,
            args.Length > 5 ? args[5].Split(',') : ["rk4:100", "tol:1e-4"], args.Length > 6 ? int.Parse(args[6]) : 2);
        break;
    case "table-quality":
        TableQuality.Measure(args.Length > 1 ? int.Parse(args[1]) : 2000, args.Length > 2 ? int.Parse(args[2]) : 1000, args.Length > 3 ? args[3] : "table-quality");
        break;
    case "table-proportions":
        TableProportions.Measure(args.Length > 1 ? args[1] : Path.Combine(AppContext.BaseDirectory, "data", "penguins.csv"), args.Length > 2 ? int.Parse(args[2]) : 4000,
            args.Length > 3 ? int.Parse(args[3]) : 1000, args.Length > 4 ? args[4].Split(',').Select(int.Parse).ToArray() : [1], args.Length > 5 ? double.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture) : 0.01);
        break;
    default:
        Console.WriteLine("commands: train-speed [steps] | gflops [steps] | conv2d-check [draws] | unet-check [draws] [batch] | kernel-speed [batches] | versus-pytorch [seconds] [rounds] [sample rows] [likelihood rows] | samplers [samples] | scoring [rows] | out-of-data [model.zip] | anomaly [splits] [steps] [data sets, comma-separated: breast,penguins,digits] | likelihood-steps [data sets] [training steps] | network-size [data sets] [splits] [WxB,...] | scoring-paths [rows] [row-at-a-time rows] [training steps] [SigmaMin|auto] [settings] [rounds] | table-quality [steps] [rows] [out folder] | table-proportions [csv] [steps] [rows] [training seeds, comma-separated] [sigma_min]");
        break;
}
