/** Harness side of S5's floor server (floor/floor-server.ts): fork, listen, push, stop. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromFloor, ToFloor } from '../floor/floor-server.js';

const FLOOR = fileURLToPath(new URL('../floor/floor-server.js', import.meta.url));

export class FloorServer {
  readonly child: ChildProcess;
  readonly #exited: Promise<void>;
  constructor() {
    this.child = fork(FLOOR, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  #next<T extends FromFloor['op']>(op: T, timeoutMs: number): Promise<Extract<FromFloor, { op: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off('message', on);
        reject(new Error(`floor server: no ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (m: FromFloor): void => {
        if (m.op !== op) return;
        clearTimeout(timer);
        this.child.off('message', on);
        resolve(m as Extract<FromFloor, { op: T }>);
      };
      this.child.on('message', on);
    });
  }

  async listen(claBase64: string): Promise<string> {
    const reply = this.#next('listening', 10_000);
    this.child.send({ op: 'listen', cla: claBase64 } satisfies ToFloor);
    return (await reply).address;
  }

  async push(endpoint: string, weight: number): Promise<Extract<FromFloor, { op: 'pushed' }>> {
    const reply = this.#next('pushed', 20_000);
    this.child.send({ op: 'push', endpoint, weight } satisfies ToFloor);
    return reply;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    this.child.send({ op: 'stop' } satisfies ToFloor);
    await this.#exited;
    clearTimeout(timer);
  }
}
