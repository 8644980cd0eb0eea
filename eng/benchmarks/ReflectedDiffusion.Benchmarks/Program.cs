// Benchmarks that print figures (not tests). Usage:
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- train-speed [steps]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- samplers [samples]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- scoring [rows]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- out-of-data [rdiff-demo/model.zip]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- anomaly [splits] [steps] [data sets, comma-separated: breast,penguins,digits]
//   dotnet run -c Release --project eng/benchmarks/ReflectedDiffusion.Benchmarks -- table-quality [steps] [rows] [out folder]
using ReflectedDiffusion.Benchmarks;

var command = args.Length > 0 ? args[0] : "help";
switch (command)
{
    case "train-speed":
        TrainSpeed.Run(args.Length > 1 ? int.Parse(args[1]) : 30);
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
    case "anomaly":
        AnomalyBenchmark.Run(args.Length > 1 ? int.Parse(args[1]) : 3, args.Length > 2 ? int.Parse(args[2]) : 1000, args.Length > 3 ? args[3].Split(',') : null);
        break;
    case "table-quality":
        TableQuality.Measure(args.Length > 1 ? int.Parse(args[1]) : 2000, args.Length > 2 ? int.Parse(args[2]) : 1000, args.Length > 3 ? args[3] : "table-quality");
        break;
    default:
        Console.WriteLine("commands: train-speed [steps] | samplers [samples] | scoring [rows] | out-of-data [model.zip] | anomaly [splits] [steps] [data sets, comma-separated: breast,penguins,digits] | table-quality [steps] [rows] [out folder]");
        break;
}
