// Starts a real PubSub.Host (the built DLL) as a child process on 127.0.0.1, for the Node and
// browser suites. The .NET build must have run first (./test.sh builds before it tests).

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repository = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const hostProject = join(repository, "server", "PubSub.Host");

/** The Host DLL: $PUBSUB_HOST_DLL, or the Release build's output. */
export const hostDll = process.env.PUBSUB_HOST_DLL ?? join(hostProject, "bin", "Release", "net10.0", "PubSub.Host.dll");

export const API_KEY = "client-js-test-key";

/** How long a Host may take to start listening (a cold JIT on a busy two-core machine). */
const START_TIMEOUT = 30_000;

export interface HostOptions {
  /** Configuration as environment variables, such as `PubSub__Transports: "LongPolling"`. */
  env?: Record<string, string>;
  /** A fixed port (to restart on the same one); default: any free port. */
  port?: number;
}

export class HostProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly options: HostOptions,
    private readonly log: string[],
  ) {}

  /** The Host's origin, such as http://127.0.0.1:5123. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The client endpoints' prefix. */
  get pubsub(): string {
    return `${this.url}/pubsub`;
  }

  /** What the process printed, for a failing test's message. */
  get output(): string {
    return this.log.join("");
  }

  static async start(options: HostOptions = {}): Promise<HostProcess> {
    if (!existsSync(hostDll)) {
      throw new Error(`${hostDll} does not exist: build the Host first (dotnet build server/PubSub.Host -c Release).`);
    }
    const child = spawn("dotnet", [hostDll, "--urls", `http://127.0.0.1:${options.port ?? 0}`], {
      // The content root (for wwwroot: the demo page and the bundle) is the working directory.
      cwd: hostProject,
      env: {
        ...process.env,
        ASPNETCORE_ENVIRONMENT: "Production",
        DOTNET_NOLOGO: "1",
        // A stop waits this long for open connections; the default 30 s would make restarts slow.
        DOTNET_SHUTDOWNTIMEOUTSECONDS: "2",
        PubSub__ApiKey: API_KEY,
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log: string[] = [];
    const port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(() => fail(new Error(`The Host did not start listening within ${START_TIMEOUT} ms:\n${log.join("")}`)), START_TIMEOUT);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(error);
      };
      const onData = (chunk: Buffer): void => {
        log.push(chunk.toString());
        const match = /Now listening on: http:\/\/127\.0\.0\.1:(\d+)/.exec(log.join(""));
        if (match) {
          clearTimeout(timer);
          resolvePort(Number(match[1]));
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", (chunk: Buffer) => log.push(chunk.toString()));
      child.once("exit", (code) => fail(new Error(`The Host exited (code ${code}) before listening:\n${log.join("")}`)));
      child.once("error", fail);
    });
    child.removeAllListeners("exit");
    return new HostProcess(child, port, options, log);
  }

  /** Stops the Host gracefully (SIGTERM: sessions get 'disconnect' 4000), or kills it after 10 s. */
  async stop(): Promise<void> {
    await this.end("SIGTERM");
  }

  /** Kills the Host at once, as a crash would. */
  async kill(): Promise<void> {
    await this.end("SIGKILL");
  }

  /** Stops the Host and starts a new one on the same port with the same configuration (its memory is gone). */
  async restart(): Promise<HostProcess> {
    await this.stop();
    return HostProcess.start({ ...this.options, port: this.port });
  }

  /** Publishes through the server API, as a back-end would. */
  async publish(channel: string, data: unknown): Promise<{ epoch: string; offset: number }> {
    const response = await fetch(`${this.url}/api/publish`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-API-Key": API_KEY },
      body: JSON.stringify({ channel, data }),
    });
    if (!response.ok) {
      throw new Error(`POST /api/publish answered ${response.status}: ${await response.text()}`);
    }
    return (await response.json()) as { epoch: string; offset: number };
  }

  /** Calls a server API endpoint with a JSON body (docs/protocol.md, section 4), such as `subscribe`, `unsubscribe` or `disconnect`. */
  async control(endpoint: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.url}/api/${endpoint}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-API-Key": API_KEY },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      throw new Error(`POST /api/${endpoint} answered ${response.status}: ${await response.text()}`);
    }
    return (await response.json()) as Record<string, unknown>;
  }

  /** A channel's history through the server API: the data of its latest publications, oldest first. */
  async historyData(channel: string): Promise<unknown[]> {
    const response = await fetch(`${this.url}/api/history?channel=${encodeURIComponent(channel)}`, { headers: { "X-API-Key": API_KEY } });
    if (!response.ok) {
      throw new Error(`GET /api/history answered ${response.status}: ${await response.text()}`);
    }
    const page = (await response.json()) as { publications: { data?: unknown }[] };
    return page.publications.map((publication) => publication.data);
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolveExit) => this.child.once("exit", () => resolveExit()));
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
