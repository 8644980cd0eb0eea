using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;

namespace ReflectedDiffusion.Quality;

/// <summary>
/// The ML.NET models of the report, all FastTree (gradient-boosted trees: no scaling needed, NaN-free encoded input):
/// a real-versus-synthetic detector scored by cross-validated ROC AUC, a classifier and a regressor for efficacy.
/// Single-threaded with a fixed seed so that a report is reproducible.
/// </summary>
internal static class TreeModels
{
    private sealed class Row
    {
        public float[] Features = [];
        public float Value;   // binary label (0/1) or regression target
        public string Class = "";   // class name
    }

    /// <summary>Mean ROC AUC over <paramref name="folds"/> folds of a FastTree classifier telling real (label 0) from synthetic (1).</summary>
    public static double DetectionAuc(IReadOnlyList<float[]> real, IReadOnlyList<float[]> synthetic, int folds, int seed)
    {
        var ml = new MLContext(seed);
        var rows = real.Select(f => new Row { Features = f, Value = 0 }).Concat(synthetic.Select(f => new Row { Features = f, Value = 1 }));
        var data = ml.Data.Transforms(ml, rows, real[0].Length, label: "bool");
        var trainer = ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
        {
            LabelColumnName = "Label", FeatureColumnName = "Features", NumberOfThreads = 1, Seed = seed,
            NumberOfTrees = 100, NumberOfLeaves = 16, MinimumExampleCountPerLeaf = 5,
        });
        var results = ml.BinaryClassification.CrossValidate(data, trainer, numberOfFolds: folds, seed: seed);
        return results.Average(r => r.Metrics.AreaUnderRocCurve);
    }

    /// <summary>
    /// Trains a multiclass FastTree (one versus all) on <paramref name="trainLabels"/>; returns the predicted class of
    /// each test row. <paramref name="classes"/> fixes the key order, so a class missing from the training rows is no error.
    /// </summary>
    public static string[] Classify(IReadOnlyList<float[]> train, IReadOnlyList<string> trainLabels, IReadOnlyList<float[]> test, IReadOnlyList<string> classes, int seed)
    {
        var ml = new MLContext(seed);
        var data = ml.Data.Transforms(ml, train.Select((f, i) => new Row { Features = f, Class = trainLabels[i] }), train[0].Length, label: "class");
        var keys = ml.Data.LoadFromEnumerable(classes.Select(c => new Row { Class = c }));
        var binary = ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
        {
            FeatureColumnName = "Features", NumberOfThreads = 1, Seed = seed, NumberOfTrees = 100, NumberOfLeaves = 16, MinimumExampleCountPerLeaf = 5,
        });
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Row.Class), keyData: ml.Transforms.SelectColumns(nameof(Row.Class)).Fit(keys).Transform(keys))
            .Append(ml.MulticlassClassification.Trainers.OneVersusAll(binary, labelColumnName: "Label"))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel"));
        var model = pipeline.Fit(data);
        var testData = ml.Data.Transforms(ml, test.Select(f => new Row { Features = f, Class = classes[0] }), test[0].Length, label: "class");
        return model.Transform(testData).GetColumn<ReadOnlyMemory<char>>("PredictedClass").Select(v => v.ToString()).ToArray();
    }

    /// <summary>Trains a FastTree regressor; returns its predictions for the test rows.</summary>
    public static double[] Regress(IReadOnlyList<float[]> train, IReadOnlyList<double> target, IReadOnlyList<float[]> test, int seed)
    {
        var ml = new MLContext(seed);
        var data = ml.Data.Transforms(ml, train.Select((f, i) => new Row { Features = f, Value = (float)target[i] }), train[0].Length, label: "float");
        var model = ml.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
        {
            LabelColumnName = "Label", FeatureColumnName = "Features", NumberOfThreads = 1, Seed = seed,
            NumberOfTrees = 100, NumberOfLeaves = 16, MinimumExampleCountPerLeaf = 5,
        }).Fit(data);
        var testData = ml.Data.Transforms(ml, test.Select(f => new Row { Features = f }), test[0].Length, label: "float");
        return model.Transform(testData).GetColumn<float>("Score").Select(v => (double)v).ToArray();
    }

    // The rows as a data view: a fixed-length Features vector and a Label of the requested kind.
    private static IDataView Transforms(this DataOperationsCatalog catalog, MLContext ml, IEnumerable<Row> rows, int width, string label)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        var view = catalog.LoadFromEnumerable(rows.ToList(), schema);
        return label switch
        {
            "bool" => ml.Transforms.Conversion.ConvertType("Label", nameof(Row.Value), DataKind.Boolean).Fit(view).Transform(view),
            "class" => view,   // the pipeline maps Class to a key
            _ => ml.Transforms.CopyColumns("Label", nameof(Row.Value)).Fit(view).Transform(view),
        };
    }
}
