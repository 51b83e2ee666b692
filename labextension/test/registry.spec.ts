/**
 * @jest-environment jsdom
 */
import { aliasMove, IAliasChange, jsonRequest, runSectionSelector } from '../src/registryModel';

const change = (from: number | null, to: number | null): IAliasChange => ({
  name: 'churn', alias: 'champion', from_version: from, to_version: to, user: 'ann', at: 0,
  reason: null, evaluation: null
});

describe('aliasMove', () => {
  it('names a new alias, a move and a removal', () => {
    expect(aliasMove(change(null, 1))).toBe('new → v1');
    expect(aliasMove(change(2, 3))).toBe('v2 → v3');
    expect(aliasMove(change(3, null))).toBe('v3 → removed');
  });
});

describe('jsonRequest', () => {
  it('sends JSON with its content type (the server refuses other bodies)', () => {
    const init = jsonRequest('PUT', { version: 2 });
    expect(init.method).toBe('PUT');
    expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(JSON.parse(init.body as string)).toEqual({ version: 2 });
  });
});

describe('runSectionSelector', () => {
  it('finds one section of the open detail of one run, with the id escaped', () => {
    document.body.innerHTML =
      '<div class="jp-xtrack-detail" data-run-id="0a1b"><details data-section="data"></details>' +
      '<details data-section="evaluation" id="hit"></details></div>' +
      '<div class="jp-xtrack-detail" data-run-id="ffff"><details data-section="evaluation"></details></div>';
    expect(document.querySelector(runSectionSelector('0a1b', 'evaluation'))?.id).toBe('hit');
    expect(() => document.querySelector(runSectionSelector('a"b\\', 'data'))).not.toThrow();
  });
});
