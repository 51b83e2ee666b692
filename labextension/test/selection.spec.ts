import { brushFilter, brushedRuns, onBrushChanged, setBrushed } from '../src/selection';

describe('brushFilter', () => {
  it('filters on run numbers when the view knows them, in order', () => {
    const got = brushFilter({ ids: new Set(['b', 'a']), source: 'scatter', numbers: [12, 3] });
    expect(got).toEqual({ filter: 'number in (3, 12)', label: '2 runs brushed in the scatter' });
  });

  it('falls back to quoted ids (quotes escaped) when numbers are missing or partial', () => {
    const got = brushFilter({ ids: new Set(["0a", "x'y"]), source: '', numbers: [1] });
    expect(got.filter).toBe("id in ('0a', 'x\\'y')");
    expect(got.label).toBe('2 runs brushed');
  });

  it('keeps nothing when the brush keeps nothing', () => {
    expect(brushFilter({ ids: new Set(), source: 'parallel coordinates' })).toEqual({
      filter: 'number = -1', label: '0 runs brushed in the parallel coordinates'
    });
  });
});

describe('setBrushed', () => {
  it('carries the numbers and tells listeners only of real changes', () => {
    const heard: unknown[] = [];
    const off = onBrushChanged(b => heard.push(b));
    setBrushed(['a'], 'scatter', [7]);
    setBrushed(['a'], 'scatter', [7]);
    expect(brushedRuns()?.numbers).toEqual([7]);
    setBrushed(null);
    off();
    expect(heard.length).toBe(2);
    expect(heard[1]).toBeNull();
  });
});
