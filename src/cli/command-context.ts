/** What a command registered from its own file (`registerX(program, ctx)`) needs of the CLI run. */
export interface CommandContext {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  /** Sets the exit code of this run (cli-contract: 0, 1 or 2). */
  setExitCode(code: number): void;
}
