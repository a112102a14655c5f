import { matchesSelector, parseSelector, selectorUses, type Selector } from '@ur/protocol';
import { ApiError } from '../errors.js';
import { FACT_KEYS, nodeFacts, unknownSelectorKey } from '../node-facts.js';
import type { NodeStore, NodeSummaryRow } from '../store/node-store.js';
import type { NodeFilter } from '../store/reservation-store.js';

/** Parses a selector from the API, refusing keys no node can have. */
export function selectorFrom(text: string): Selector {
  const selector = parseSelector(text);
  const unknown = unknownSelectorKey(selector);
  if (unknown !== undefined) {
    throw new ApiError(
      'INVALID_SELECTOR',
      `unknown key ${JSON.stringify(unknown)} in selector ${JSON.stringify(text)}; ` +
        `use label.<name>, sysinfo.<key> or one of ${FACT_KEYS.join(', ')}`,
    );
  }
  return selector;
}

/** The nodes a selector picks (all without one), ordered by id. */
export async function selectNodes(
  store: NodeStore,
  selector: Selector | undefined,
): Promise<NodeSummaryRow[]> {
  const rows = selector && selectorUses(selector, 'sysinfo') ? await store.listFull() : await store.list();
  const picked = selector ? rows.filter((row) => matchesSelector(selector, row.id, nodeFacts(row))) : rows;
  // The same order whatever the database's collation, so `after` paging is stable.
  return picked.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Schedule constraints as a filter of candidate nodes. */
export function nodeFilter(where: string | undefined): NodeFilter {
  const selector = where === undefined ? undefined : selectorFrom(where);
  return {
    accept: selector ? (row) => matchesSelector(selector, row.id, nodeFacts(row)) : () => true,
    needsSysinfo: selector !== undefined && selectorUses(selector, 'sysinfo'),
    where,
  };
}
