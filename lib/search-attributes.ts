import type { Connection } from '@temporalio/client';
import { PlumbError, messageOf } from './errors.js';

// temporal.api.enums.v1.IndexedValueType
const INDEXED_VALUE_TYPE: Record<string, number> = { Text: 1, Keyword: 2, Int: 3, Double: 4, Bool: 5, Datetime: 6, KeywordList: 7 };

/**
 * Registers the stack file's custom search attributes on a cluster that lacks them (the dev
 * server gets them as start flags). A cluster that refuses (Temporal Cloud manages them in its
 * console) gets a clear message listing what to create.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string, wanted: Record<string, string>): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = { ...existing.customAttributes, ...existing.systemAttributes };
  const missing = Object.entries(wanted).filter(([name]) => !(name in have));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPE[type] ?? 2])),
    });
  } catch (err) {
    const list = missing.map(([n, t]) => `${n} (${t})`).join(', ');
    throw new PlumbError('Unavailable', `namespace ${namespace} lacks the search attributes ${list} and they could not be added (${messageOf(err)}); create them on the cluster`);
  }
  return missing.map(([name]) => name);
}
