// A real redis-server on 127.0.0.1 and a free port, for the tests in which nodes share history
// through the Redis broker (so a node that restarts loses nothing). No persistence: the data lives
// as long as the process.

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export class RedisProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly directory: string,
  ) {}

  /** The StackExchange.Redis configuration string, for `PubSub__Redis__Configuration`. */
  get configuration(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisProcess> {
    const directory = await mkdtemp(join(tmpdir(), "pubsub-redis-"));
    const port = await freePort();
    const child = spawn("redis-server", [
      "--port", String(port), "--bind", "127.0.0.1", "--dir", directory,
      "--save", "", "--appendonly", "no", "--daemonize", "no",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`redis-server did not start within 10 s:\n${log}`)), 10_000);
      const done = (error?: Error): void => {
        clearTimeout(timer);
        if (error) {
          child.kill("SIGKILL");
          reject(error);
        } else {
          resolve();
        }
      };
      child.stdout!.on("data", (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes("Ready to accept connections")) {
          done();
        }
      });
      child.once("exit", (code) => done(new Error(`redis-server exited (code ${code}):\n${log}`)));
      child.once("error", (error) => done(error));
    });
    child.removeAllListeners("exit");
    return new RedisProcess(child, port, directory);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
      this.child.kill("SIGKILL");
      await exited;
    }
    await rm(this.directory, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
