// AnomalyDetection: a reflected diffusion model as an anomaly detector in ML.NET's convention. Trained on benign
// breast-cancer rows only, with the default options: bounds from the data, the bandwidth (SigmaMin) chosen from the
// training rows by held-out likelihood, the threshold at 1% of the training rows. The Score and PredictedLabel
// columns go to mlContext.AnomalyDetection.Evaluate as they are.
// Run: dotnet run -c Release --project examples/AnomalyDetection
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;

var ml = new MLContext(seed: 1);
ml.Log += (_, e) => { if (e.Source == "ReflectedDiffusion" && e.Message.StartsWith("SigmaMin: held-out")) Console.WriteLine(e.Message); };
var all = BreastCancerData.Load();
var benign = all.Where(r => !r.Label).ToList();
var train = benign.Where((_, i) => i % 3 != 2).ToList();
var test = benign.Where((_, i) => i % 3 == 2).Concat(all.Where(r => r.Label)).ToList();

var options = new ReflectedDiffusionOptions { NumberOfSteps = 1000, BatchSize = 128, HiddenWidth = 128, Blocks = 2, LikelihoodSteps = 60, Seed = 7, Context = ml };
var model = ml.Transforms.ReflectedDiffusion(options).Fit(ml.Data.LoadFromEnumerable(train));

// The evaluator reads a Single label (1 = anomaly): the malignant flag, converted by ML.NET.
var raw = model.Transform(ml.Data.LoadFromEnumerable(test));
var scored = ml.Transforms.Conversion.ConvertType(nameof(Tumour.Label), outputKind: DataKind.Single).Fit(raw).Transform(raw);
var metrics = ml.AnomalyDetection.Evaluate(scored);
Console.WriteLine($"{train.Count} benign training rows; {test.Count} test rows ({test.Count(r => r.Label)} malignant); SigmaMin {model.Model.Sde.SigmaMin}, threshold {model.Threshold:G4}");
Console.WriteLine($"AreaUnderRocCurve {metrics.AreaUnderRocCurve:F4}, DetectionRateAtFalsePositiveCount {metrics.DetectionRateAtFalsePositiveCount:F4}");
