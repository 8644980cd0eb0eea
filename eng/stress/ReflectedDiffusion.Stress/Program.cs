// Reliability figures that take too long for the tests; prints them. Usage:
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- fuzz [mutations, 1000]
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- stream [rows, 1000000] [steps, 20]
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- threads [threads, 8] [rounds, 5]
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- shards [rows, 4096]
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- train-stream [rows, 100000] [max rows in memory, 65536] [steps, 100]
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- train-csv [rows, 100000] [max rows in memory, 65536] [steps, 100]
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- score-calls [calls, 10000]
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- all
using ReflectedDiffusion.Stress;

var command = args.Length > 0 ? args[0] : "help";
long Arg(int i, long fallback) => args.Length > i ? long.Parse(args[i]) : fallback;
switch (command)
{
    case "fuzz": Checks.Fuzz((int)Arg(1, 1000)); break;
    case "stream": Checks.Stream(Arg(1, 1_000_000), (int)Arg(2, 20)); break;
    case "threads": Checks.Threads((int)Arg(1, 8), (int)Arg(2, 5)); break;
    case "shards": Checks.Shards((int)Arg(1, 4096)); break;
    case "train-stream": Checks.TrainStream(Arg(1, 100_000), (int)Arg(2, 65_536), (int)Arg(3, 100)); break;
    case "train-csv": Checks.TrainCsv(Arg(1, 100_000), (int)Arg(2, 65_536), (int)Arg(3, 100)); break;
    case "score-calls": Checks.ScoreCalls((int)Arg(1, 10_000)); break;
    case "all":
        Checks.Fuzz(1000);
        Checks.Stream(1_000_000, 20);
        Checks.Threads(8, 5);
        Checks.Shards(4096);
        Checks.ScoreCalls(10_000);
        Checks.TrainStream(100_000, 65_536, 100); // the peak is the process's: run train-stream 10000000 on its own for the large size
        Checks.TrainCsv(100_000, 65_536, 100);    // likewise train-csv 10000000
        break;
    default:
        Console.WriteLine("commands: fuzz [mutations] | stream [rows] [steps] | threads [threads] [rounds] | shards [rows] | train-stream [rows] [max rows in memory] [steps] | train-csv [rows] [max rows in memory] [steps] | score-calls [calls] | all");
        return 2;
}
return 0;
