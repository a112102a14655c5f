import { UnissuedRequests } from '@ur/headnode';

/** A store lookup that counts its queries and answers from `issued`. */
function lookup(issued: Set<string>): { asked: string[]; awaitsResult: (id: string) => Promise<boolean> } {
  const asked: string[] = [];
  return {
    asked,
    awaitsResult: (id) => {
      asked.push(id);
      return id === 'broken' ? Promise.reject(new Error('store down')) : Promise.resolve(issued.has(id));
    },
  };
}

describe('UnissuedRequests', () => {
  it("asks the store once for a broadcast's replies, however many arrive, and not again", async () => {
    const store = lookup(new Set());
    const requests = new UnissuedRequests(store.awaitsResult);
    const answers = await Promise.all(Array.from({ length: 100 }, () => requests.issued('b1')));
    expect(answers.every((a) => a === false)).toBe(true);
    await expect(requests.issued('b1')).resolves.toBe(false);
    expect(store.asked).toEqual(['b1']);
  });

  it('asks again for a request found issued (its result may be recorded meanwhile) and after a failed query', async () => {
    const store = lookup(new Set(['c1']));
    const requests = new UnissuedRequests(store.awaitsResult);
    await expect(requests.issued('c1')).resolves.toBe(true);
    await expect(requests.issued('c1')).resolves.toBe(true);
    await expect(requests.issued('broken')).rejects.toThrow('store down');
    await expect(requests.issued('broken')).rejects.toThrow('store down');
    expect(store.asked).toEqual(['c1', 'c1', 'broken', 'broken']);
  });

  it('forgets the oldest ids beyond its bound', async () => {
    const store = lookup(new Set());
    const requests = new UnissuedRequests(store.awaitsResult, 2);
    for (const id of ['a', 'b', 'c', 'b', 'a']) await requests.issued(id);
    expect(store.asked).toEqual(['a', 'b', 'c', 'a']);
  });
});
