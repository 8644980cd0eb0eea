using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.Onnx;

namespace ReflectedDiffusion.ML;

/// <summary>
/// The output of <see cref="ReflectedDiffusionTransformer.Transform"/>: the input's columns plus <c>LogLikelihood</c>,
/// <c>BitsPerDimension</c> and the anomaly score and predicted label, scored lazily in batches through one ONNX Runtime session instead of ML.NET's
/// row-at-a-time OnnxTransformer (the same graph, so the same values).
/// </summary>
/// <remarks>
/// A cursor runs two cursors over the input in step: a lead cursor reads the feature column a batch ahead and scores
/// it, the row cursor serves the other columns. IDataViews are repeatable, so both see the same rows in the same
/// order; each computes only the columns it asks for, so upstream work is not done twice. Rows come in input order
/// (no shuffling) and from one cursor (no parallel cursor sets).
/// </remarks>
internal sealed class BatchedLikelihoodView : IDataView
{
    private readonly IDataView _input;
    private readonly OnnxScorer _scorer;
    private readonly string _featureColumn;
    private readonly int _batchSize;
    private readonly int _first; // index of the first added column

    /// <param name="input">The rows to score.</param>
    /// <param name="schema">The output schema: the input's columns, then the two scores (as the built-in chain gives it;
    /// the caller checks this with <see cref="HasExpectedLayout"/>).</param>
    /// <param name="scorer">The session over the likelihood graph; not owned.</param>
    /// <param name="featureColumn">The input's feature column.</param>
    /// <param name="batchSize">Rows per session call.</param>
    public BatchedLikelihoodView(IDataView input, DataViewSchema schema, OnnxScorer scorer, string featureColumn, int batchSize)
    {

        (_input, Schema, _scorer, _featureColumn, _batchSize) = (input, schema, scorer, featureColumn, batchSize);
        _first = input.Schema.Count;
    }

    // The added columns in the order the chain adds them: log-likelihood, bits per dimension, score, predicted label.
    private static readonly DataViewType[] AddedTypes = [NumberDataViewType.Single, NumberDataViewType.Single, NumberDataViewType.Single, BooleanDataViewType.Instance];

    /// <summary>How many columns the scoring stage adds.</summary>
    public static int AddedCount => AddedTypes.Length;

    /// <summary>Whether <paramref name="output"/> is the input's columns, by name and type, followed by the added columns under <paramref name="names"/>.</summary>
    public static bool HasExpectedLayout(DataViewSchema input, DataViewSchema output, IReadOnlyList<string> names)
    {
        if (output.Count != input.Count + AddedTypes.Length) return false;
        for (int i = 0; i < input.Count; i++)
            if (output[i].Name != input[i].Name || !output[i].Type.Equals(input[i].Type)) return false;
        for (int k = 0; k < AddedTypes.Length; k++)
            if (output[input.Count + k].Name != names[k] || !output[input.Count + k].Type.Equals(AddedTypes[k])) return false;
        return true;
    }

    public DataViewSchema Schema { get; }
    public bool CanShuffle => false;
    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        bool scores = needed.Any(i => i >= _first);
        var rows = _input.GetRowCursor(_input.Schema.Where(c => needed.Contains(c.Index)));
        var lead = scores ? _input.GetRowCursor([_input.Schema[_featureColumn]]) : null;
        return new Cursor(this, rows, lead, needed);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly BatchedLikelihoodView _view;
        private readonly DataViewRowCursor _rows;
        private readonly DataViewRowCursor? _lead;
        private readonly FeatureReader? _features;
        private readonly HashSet<int> _active;
        private ScoredRows? _batch;
        private int _index = -1;
        private long _position = -1;

        public Cursor(BatchedLikelihoodView view, DataViewRowCursor rows, DataViewRowCursor? lead, HashSet<int> active)
        {
            (_view, _rows, _lead, _active) = (view, rows, lead, active);
            if (lead is not null) _features = new FeatureReader(lead, lead.Schema[view._featureColumn], view._scorer.Dimension);
        }

        public override DataViewSchema Schema => _view.Schema;
        public override long Position => _position;
        public override long Batch => 0;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _rows.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        public override bool MoveNext()
        {
            if (!_rows.MoveNext()) return false;
            _position++;
            if (_lead is not null && ++_index >= (_batch?.LogLikelihood.Length ?? 0)) ScoreNextBatch();
            return true;
        }

        private void ScoreNextBatch()
        {
            var features = _features!.ReadBatch(_view._batchSize);
            if (features.Length == 0) throw new InvalidOperationException("The input view gave fewer rows to its second cursor than to its first; it must be repeatable.");
            _batch = _view._scorer.Score(features);
            _index = 0;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column)) throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            if (column.Index < _view._first) return _rows.GetGetter<TValue>(_rows.Schema[column.Index]);
            int added = column.Index - _view._first;
            return added == 3 ? Getter<TValue, bool>(column, b => b.PredictedLabel!)
                : Getter<TValue, float>(column, added switch { 0 => b => b.LogLikelihood, 1 => b => b.BitsPerDimension, _ => b => b.Score! });
        }

        private ValueGetter<TValue> Getter<TValue, TColumn>(DataViewSchema.Column column, Func<ScoredRows, TColumn[]> values)
        {
            if (typeof(TValue) != typeof(TColumn)) throw new InvalidOperationException($"Column '{column.Name}' is {typeof(TColumn).Name}; asked for {typeof(TValue).Name}.");
            ValueGetter<TColumn> getter = (ref TColumn value) =>
            {
                if (_index < 0 || _batch is null) throw new InvalidOperationException("The cursor is not on a row.");
                value = values(_batch)[_index];
            };
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _rows.Dispose();
                _lead?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
