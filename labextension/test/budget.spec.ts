/**
 * The time-budget grammar: `parseBudget` agrees with Python's `parse_budget` on every case of
 * the table both test suites read (tests/optimize/test_time_budget.py reads it too).
 */
import { parseBudget } from '../src/jobsModel';
import table from './fixtures/time_budgets.json';

interface ICase {
  input: string;
  seconds: number | null;
}

const CASES: ICase[] = table.cases;

describe('the time-budget grammar shared with Python', () => {
  it('holds both kinds of case', () => {
    expect(CASES.some(c => c.seconds === null)).toBe(true);
    expect(CASES.some(c => c.seconds !== null)).toBe(true);
  });
  it.each(CASES.map(c => [JSON.stringify(c.input), c] as [string, ICase]))('reads %s', (_, c) => {
    const parsed = parseBudget(c.input);
    if (c.seconds === null) {
      expect(parsed).toHaveProperty('error');
    } else {
      expect(parsed).toHaveProperty('seconds');
      expect((parsed as { seconds: number }).seconds).toBeCloseTo(c.seconds, 9);
    }
  });
});
