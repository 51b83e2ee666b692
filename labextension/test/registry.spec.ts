import { aliasMove, IAliasChange, jsonRequest } from '../src/registryModel';

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
