// Workflow histories as JSON files for replay tests. The SDK's historyToJSON/historyFromJSON fail
// with this install ("type must be a Type": @temporalio/common carries its own protobufjs), so the
// files are protobufjs' plain-object form of the History message (enums as names, 64-bit numbers
// and bytes as strings), read back with History.fromObject: the replayer takes that as is.
import { readFile, writeFile } from 'node:fs/promises';
import protos from '@temporalio/proto';

type History = protos.temporal.api.history.v1.IHistory;
const HistoryMessage = protos.temporal.api.history.v1.History;

export async function writeHistoryFile(path: string, history: History): Promise<void> {
  const plain = HistoryMessage.toObject(HistoryMessage.fromObject(history), { longs: String, enums: String, bytes: String });
  await writeFile(path, JSON.stringify(plain, null, 1) + '\n');
}

export async function readHistoryFile(path: string): Promise<protos.temporal.api.history.v1.History> {
  return HistoryMessage.fromObject(JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>);
}
