// TabularAugmentation: train an ML.NET classifier on a small breast-cancer training set with and without synthetic
// rows from a class-conditional reflected diffusion model, and compare accuracy and AUC on held-out rows.
// Run: dotnet run -c Release --project examples/TabularAugmentation
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;

var ml = new MLContext(seed: 1);
var all = BreastCancerData.Load();
// A deliberately small training set (60 rows), where extra rows can help; the rest is the test set.
var train = all.Where((_, i) => i % 9 == 0).ToList();
var test = all.Where((_, i) => i % 9 != 0).ToList();

// The generator: conditional on the class (a key made from the bool label), bounds from the data.
var generatorOptions = new ReflectedDiffusionOptions
{
    LabelColumnName = "Class", Bounds = BoundsSource.Data, BoundsMargin = 0.05, SigmaMin = 0.02, NumberOfSteps = 2000,
    BatchSize = 60, HiddenWidth = 128, Blocks = 2, LikelihoodSteps = 20, Seed = 3, Weighting = ReflectedDiffusion.Training.LossWeighting.Sigma2,
};
var generator = ml.Transforms.Conversion.MapValueToKey("Class", "Label", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
    .Append(ml.Transforms.ReflectedDiffusion(generatorOptions)).Fit(ml.Data.LoadFromEnumerable(train)).LastTransformer;

// 300 synthetic rows per class (class index 0 = false = benign, 1 = true = malignant), guidance 1.
const int perClass = 300;
var classes = Enumerable.Range(0, 2 * perClass).Select(i => (long)(i / perClass)).ToArray();
var synthetic = generator.Generator.Generate(classes.Length, new GenerationOptions { Seed = 11, Steps = 100, Guidance = 1 }, classes)
    .Select((x, i) => new Tumour { Features = x, Label = classes[i] == 1 });

var testView = ml.Data.LoadFromEnumerable(test);
Report("real rows only", train);
Report("real + synthetic rows", train.Concat(synthetic).ToList());

void Report(string name, List<Tumour> rows)
{
    var classifier = ml.Transforms.NormalizeMinMax("Features")
        .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression("Label", "Features"))
        .Fit(ml.Data.LoadFromEnumerable(rows));
    var m = ml.BinaryClassification.Evaluate(classifier.Transform(testView), "Label");
    Console.WriteLine($"{name,-24} ({rows.Count,4} rows): accuracy {m.Accuracy:F4}, AUC {m.AreaUnderRocCurve:F4}, F1 {m.F1Score:F4}");
}
