/** Prints a command's result: JSON on one line for machines, or the human rendering. */
export function printResult(result: unknown, json: boolean, human: () => string): void {
  process.stdout.write((json ? JSON.stringify(result) : human()) + '\n');
}

/** Progress and notices go to stderr, so stdout stays the result. */
export function note(line: string): void {
  process.stderr.write(line + '\n');
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
