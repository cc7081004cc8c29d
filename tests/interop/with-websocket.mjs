// Runs a script's main function where the global WebSocket exists: Node 20 has it behind a flag
// (22 without), so there the script runs again with the flag.
import { spawn } from "node:child_process";

export function withWebSocket(main) {
  if (typeof WebSocket !== "undefined") {
    main();
    return;
  }
  const child = spawn(process.execPath, ["--experimental-websocket", ...process.argv.slice(1)], { stdio: "inherit" });
  child.on("exit", (code) => process.exit(code ?? 1));
}
