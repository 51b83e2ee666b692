import {
  columnLabel, middleEllipsis, formatBytes, formatDuration, formatNumber, formatTime, formatValue, shortHash, statusText, toNumber
} from '../src/format';

describe('format', () => {
  it('reads non-finite numbers the API names', () => {
    expect(toNumber('NaN')).toBeNaN();
    expect(toNumber('Infinity')).toBe(Infinity);
    expect(toNumber('-Infinity')).toBe(-Infinity);
    expect(toNumber('rf')).toBeNull();
    expect(toNumber(true)).toBe(1);
  });
  it('shortens numbers', () => {
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(42)).toBe('42');
    expect(formatNumber(1.5e-5)).toBe('1.5e-5');
    expect(formatNumber(Infinity)).toBe('∞');
    expect(formatNumber(NaN)).toBe('NaN');
  });
  it('formats any cell as text, markup kept literal', () => {
    expect(formatValue(null)).toBe('—');
    expect(formatValue('Infinity')).toBe('∞');
    expect(formatValue(false)).toBe('false');
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
    expect(formatValue('<img src=x onerror=alert(1)>')).toBe('<img src=x onerror=alert(1)>');
    expect(formatValue('x'.repeat(100), 10)).toBe('xxxxxxxxx…');
  });
  it('formats durations, times, bytes and hashes', () => {
    expect(formatDuration(0.25)).toBe('250 ms');
    expect(formatDuration(12.34)).toBe('12.3 s');
    expect(formatDuration(245)).toBe('4 min 05 s');
    expect(formatDuration(7380)).toBe('2 h 03 min');
    expect(formatDuration(null)).toBe('—');
    expect(formatTime(1000, 1030)).toBe('just now');
    expect(formatTime(1000, 1000 + 600)).toBe('10 min ago');
    expect(formatTime(0, 1e9)).toMatch(/^19\d\d-\d\d-\d\d \d\d:\d\d$/);
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1500)).toBe('1.5 KB');
    expect(shortHash('xxh3_128:0123456789abcdef')).toBe('xxh3_128:01234567…');
  });
  it('labels columns', () => {
    expect(columnLabel('params.lr')).toBe('params.lr');
    expect(middleEllipsis('tags.xtrack.automl.family', 15)).toBe('tags.xt….family');
    expect(middleEllipsis('params.lr', 15)).toBe('params.lr');
    expect(columnLabel('metrics.val/loss')).toBe('metrics.val/loss');
    expect(columnLabel('number')).toBe('#');
    expect(columnLabel('git.branch')).toBe('git.branch');
  });
});

describe('statusText', () => {
  it('marks an incomplete run after its status', () => {
    expect(statusText('finished', true)).toBe('finished ⚠');
    expect(statusText('finished', false)).toBe('finished');
    expect(statusText('failed', undefined)).toBe('failed');
  });
});
