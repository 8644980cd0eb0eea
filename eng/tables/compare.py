#!/usr/bin/env python3
"""Checks a generated table against the real one (standard library only).

usage: compare.py REAL.csv SYNTH.csv [--where COL=VALUE ...] [--mean COL]

Per column: type and range (every generated value inside the real column's observed range, integers where the real
column holds integers, categories from the real vocabulary), missing rate, share of the most frequent value, and
category proportions (largest gap). With --where, the real table is filtered by the same conditions and every
generated row is checked to satisfy them; --mean COL prints the conditional mean of COL, real against generated.
"""
import csv, sys, re

def read(path):
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]

def num(v):
    try:
        x = float(v)
        return x if x == x and abs(x) != float('inf') else None
    except ValueError:
        return None

def holds(cond, v):
    col, op, val = cond
    if op == '=':
        return v == val or (num(v) is not None and num(val) is not None and num(v) == num(val))
    x = num(v)
    if x is None:
        return False
    y = float(val)
    return {'>=': x >= y, '>': x > y, '<=': x <= y, '<': x < y}[op]

def main(argv):
    real_path, synth_path = argv[0], argv[1]
    conds, means = [], []
    i = 2
    while i < len(argv):
        if argv[i] == '--where':
            m = re.match(r'^(.*?)(>=|<=|=|>|<)(.*)$', argv[i + 1]); conds.append((m[1].strip(), m[2], m[3].strip())); i += 2
        elif argv[i] == '--mean':
            means.append(argv[i + 1]); i += 2
        else:
            raise SystemExit(f'unknown argument {argv[i]}')
    header, real = read(real_path)
    sheader, synth = read(synth_path)
    assert header == sheader, f'headers differ: {header} vs {sheader}'
    idx = {c: j for j, c in enumerate(header)}
    full_real = real
    if conds:
        real = [r for r in real if all(holds(c, r[idx[c[0]]]) for c in conds)]
        bad = sum(1 for r in synth if not all(holds(c, r[idx[c[0]]]) for c in conds))
        print(f'conditions {" and ".join(a + o + b for a, o, b in conds)}: {len(real)} real rows, {len(synth)} generated, {bad} generated rows violate them')
    worst = {'missing': 0, 'top': 0, 'category': 0, 'outside': 0}
    print(f'{"column":20} {"kind":11} {"outside":>7} {"missing real/gen":>17} {"top value":>12} {"top share real/gen":>19} {"max category gap":>17}')
    for c in header:
        j = idx[c]
        ref = [r[j] for r in full_real]  # the observed range and vocabulary come from the whole training table
        present = [v for v in ref if v not in ('', 'NA')]
        numeric = all(num(v) is not None for v in present) and present
        integer = numeric and all(float(v).is_integer() for v in present)
        rv = [r[j] for r in real]; gv = [r[j] for r in synth]
        gp = [v for v in gv if v not in ('', 'NA')]
        if numeric:
            lo, hi = min(map(float, present)), max(map(float, present))
            outside = sum(1 for v in gp if num(v) is None or not lo <= float(v) <= hi or (integer and not float(v).is_integer()))
            kind = 'integer' if integer else 'real'
        else:
            vocab = set(present)
            outside = sum(1 for v in gp if v not in vocab)
            kind = 'categorical'
        miss = lambda vs: sum(1 for v in vs if v in ('', 'NA')) / max(len(vs), 1)
        def share(vs, key):
            return sum(1 for v in vs if (num(v) == num(key) if numeric and num(v) is not None else v == key)) / max(len(vs), 1)
        counts = {}
        for v in rv: counts[v] = counts.get(v, 0) + 1
        top = max(counts, key=counts.get)
        top_real, top_gen = share(rv, top), share(gv, top)
        gap = 0.0
        if not numeric:
            for v in set(rv) | set(gv):
                gap = max(gap, abs(share(rv, v) - share(gv, v)))
        worst['missing'] = max(worst['missing'], abs(miss(rv) - miss(gv)))
        worst['top'] = max(worst['top'], abs(top_real - top_gen))
        worst['category'] = max(worst['category'], gap)
        worst['outside'] += outside
        print(f'{c:20} {kind:11} {outside:7d} {100*miss(rv):7.1f}/{100*miss(gv):5.1f} % {top:>12} {100*top_real:8.1f}/{100*top_gen:5.1f} % {100*gap:15.1f} pt')
        for m in means:
            if m == c and numeric:
                r_mean = sum(float(v) for v in rv if num(v) is not None) / max(1, sum(1 for v in rv if num(v) is not None))
                g_mean = sum(float(v) for v in gp) / max(1, len(gp))
                print(f'  mean of {c}: real {r_mean:.2f}, generated {g_mean:.2f} ({100*(g_mean-r_mean)/r_mean:+.1f} %)')
    print(f'worst: values outside range/type {worst["outside"]}, missing-rate gap {100*worst["missing"]:.1f} pt, '
          f'top-value share gap {100*worst["top"]:.1f} pt, category proportion gap {100*worst["category"]:.1f} pt')

if __name__ == '__main__':
    main(sys.argv[1:])
