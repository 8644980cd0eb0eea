// Reliability figures that take too long for the tests; prints them. Usage:
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- fuzz [mutations, 1000]
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- stream [rows, 1000000] [steps, 20]
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- threads [threads, 8] [rounds, 5]
//   dotnet run -c Release --project eng/stress/ReflectedDiffusion.Stress -- shards [rows, 4096]
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
    case "all":
        Checks.Fuzz(1000);
        Checks.Stream(1_000_000, 20);
        Checks.Threads(8, 5);
        Checks.Shards(4096);
        break;
    default:
        Console.WriteLine("commands: fuzz [mutations] | stream [rows] [steps] | threads [threads] [rounds] | shards [rows] | all");
        return 2;
}
return 0;
