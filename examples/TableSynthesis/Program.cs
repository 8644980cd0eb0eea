// TableSynthesis: a reflected diffusion model of the penguins table as it is (text, integers, missing values)
// through the public APIs: fit, generate 1,000 rows, conditional rows, and the quality report against the real table.
// Run: dotnet run -c Release --project examples/TableSynthesis [-- penguins.csv [training steps [sigma_min, or auto: chosen on held-out rows]]]
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Quality;
using ReflectedDiffusion.Tables;

string path = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "data", "penguins.csv");
int steps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 4000;
double? sigmaMin = args.Length > 2 && args[2] == "auto" ? null : args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 0.01;
const string outFolder = "table-synthesis";
var ml = new MLContext(seed: 1);

// The real table, split 80/20: the model and the report's "real" side see the 80%, the report's efficacy and privacy
// figures test on the 20% the model never saw.
var all = TableCsv.Read(path).Table;
var shuffle = new Random(1);
var order = Enumerable.Range(0, all.RowCount).OrderBy(_ => shuffle.Next()).ToArray();
int holdoutRows = all.RowCount / 5;
var train = all.Select(order[holdoutRows..].Order().ToArray());
var holdout = all.Select(order[..holdoutRows].Order().ToArray());

// Fit: any IDataView with text, boolean and numeric columns; the schema is inferred and every constraint kept hard.
var watch = Stopwatch.StartNew();
using var model = ReflectedDiffusionTable.Fit(ml, TableDataView.Create(train),
    new ReflectedDiffusionOptions { NumberOfSteps = steps, SigmaMin = sigmaMin, Seed = 1 });
Console.WriteLine($"Trained on {train.RowCount} rows in {watch.Elapsed.TotalSeconds:F0} s (sigma_min {model.Transformer.Model.Sde.SigmaMin}); the encoding:");
foreach (var line in model.Encoder.Describe()) Console.WriteLine("  " + line);

// Generate 1,000 rows: a view with the training view's columns and types (NA where the model puts missing values).
watch.Restart();
var generated = model.Generate(1000, new GenerationOptions { Seed = 1 });
var synthetic = TableDataView.Read(generated).Table;
Console.WriteLine($"Generated {synthetic.RowCount} rows in {watch.Elapsed.TotalSeconds:F1} s.");
Directory.CreateDirectory(outFolder);
using (var file = File.Create(Path.Combine(outFolder, "synthetic.csv"))) TableCsv.Write(file, synthetic, model.Encoder.Schema);

// Conditional rows: every row satisfies every condition (rejection from the unconditional model).
RowCondition[] conditions = [RowCondition.Parse("species=Adelie"), RowCondition.Parse("body_mass_g>=4000")];
var conditional = TableDataView.Read(model.Generate(100, new GenerationOptions { Seed = 2 }, conditions)).Table;
var realConditional = train.Select(Enumerable.Range(0, train.RowCount).Where(i => conditions.All(c => c.IsSatisfiedBy(train, i))).ToArray());
Console.WriteLine($"{conditional.RowCount} rows with species=Adelie and body_mass_g>=4000 ({realConditional.RowCount} such real rows); means real / generated:");
foreach (var name in new[] { "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g" })
    Console.WriteLine($"  {name,-18} {Mean(realConditional[name]),8:F1} / {Mean(conditional[name]):F1}");

// The quality report: shapes, boundary shares, missing rates, pairs, detection, efficacy (species), privacy; report.md and plots.
var report = QualityReport.Compute(train, synthetic, holdout, new QualityOptions { Target = "species" });
var written = QualityReportWriter.Write(report, Path.Combine(outFolder, "report"), $"Penguins ({steps} training steps, 1,000 generated rows)");
Console.WriteLine($"Column shape {report.MeanShape:F3}, pair score {report.MeanPairScore:F3}, detection AUC {report.Detection.Auc:F3}, "
    + $"efficacy {report.Efficacy!.Ratio:F3} of train-on-real, {report.Privacy.ExactCopies} exact copies. Wrote {written}.");

static double Mean(TableColumn column) => column.Numbers!.Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Average();
