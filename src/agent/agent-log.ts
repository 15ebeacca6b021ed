/**
 * The agent's log: plain lines, and state lines of which a repeat of the previous one is dropped
 * (one line per state change: a reconnect loop that keeps failing the same way logs once).
 */
export class AgentLog {
  #lastChange = '';

  constructor(readonly line: (line: string) => void) {}

  /** Logs a state line unless it repeats the previous state line. */
  change(line: string): void {
    if (line === this.#lastChange) return;
    this.#lastChange = line;
    this.line(line);
  }

  /** The last state line logged ('' before the first). */
  get lastChange(): string {
    return this.#lastChange;
  }
}
