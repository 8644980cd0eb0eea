using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.Onnx;

namespace ReflectedDiffusion.ML;

/// <summary>
/// The output of <see cref="ReflectedDiffusionTransformer.Transform"/>: the input's columns plus <c>LogLikelihood</c> and
/// <c>BitsPerDimension</c>, scored lazily in batches through one ONNX Runtime session instead of ML.NET's
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
    private readonly int _logLikelihood, _bitsPerDimension;

    /// <param name="input">The rows to score.</param>
    /// <param name="schema">The output schema: the input's columns, then the two scores (as the built-in chain gives it;
    /// the caller checks this with <see cref="HasExpectedLayout"/>).</param>
    /// <param name="scorer">The session over the likelihood graph; not owned.</param>
    /// <param name="featureColumn">The input's feature column.</param>
    /// <param name="batchSize">Rows per session call.</param>
    public BatchedLikelihoodView(IDataView input, DataViewSchema schema, OnnxScorer scorer, string featureColumn, int batchSize)
    {
        System.Diagnostics.Debug.Assert(HasExpectedLayout(input.Schema, schema), "the caller checks the layout");
        (_input, Schema, _scorer, _featureColumn, _batchSize) = (input, schema, scorer, featureColumn, batchSize);
        (_logLikelihood, _bitsPerDimension) = (input.Schema.Count, input.Schema.Count + 1);
    }

    /// <summary>Whether <paramref name="output"/> is the input's columns, by name and type, followed by the two score columns.</summary>
    public static bool HasExpectedLayout(DataViewSchema input, DataViewSchema output)
    {
        if (output.Count != input.Count + 2) return false;
        for (int i = 0; i < input.Count; i++)
            if (output[i].Name != input[i].Name || !output[i].Type.Equals(input[i].Type)) return false;
        return output[input.Count].Name == ScoringStage.LogLikelihoodColumn
            && output[input.Count + 1].Name == ScoringStage.BitsPerDimensionColumn
            && output[input.Count].Type == NumberDataViewType.Single && output[input.Count + 1].Type == NumberDataViewType.Single;
    }

    public DataViewSchema Schema { get; }
    public bool CanShuffle => false;
    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        bool scores = needed.Contains(_logLikelihood) || needed.Contains(_bitsPerDimension);
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
        private float[] _logLikelihood = [], _bitsPerDimension = [];
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
            if (_lead is not null && ++_index >= _logLikelihood.Length) ScoreNextBatch();
            return true;
        }

        private void ScoreNextBatch()
        {
            var features = _features!.ReadBatch(_view._batchSize);
            if (features.Length == 0) throw new InvalidOperationException("The input view gave fewer rows to its second cursor than to its first; it must be repeatable.");
            (_logLikelihood, _bitsPerDimension) = _view._scorer.Score(features);
            _index = 0;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column)) throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            if (column.Index < _view._logLikelihood) return _rows.GetGetter<TValue>(_rows.Schema[column.Index]);
            if (typeof(TValue) != typeof(float)) throw new InvalidOperationException($"Column '{column.Name}' is Single; asked for {typeof(TValue).Name}.");
            var scores = column.Index == _view._logLikelihood ? (Func<float[]>)(() => _logLikelihood) : () => _bitsPerDimension;
            ValueGetter<float> getter = (ref float value) =>
            {
                if (_index < 0) throw new InvalidOperationException("The cursor is not on a row.");
                value = scores()[_index];
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
