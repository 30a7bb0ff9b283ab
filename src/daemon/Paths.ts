/**
 * Where a daemon keeps its files: `$JARVIS_HOME`, else the platform's data directory (XDG on
 * Linux, `~/Library/Application Support/Jarvis` on macOS, `%APPDATA%\Jarvis` on Windows).
 *
 * @since 2.0.0
 */
import { createHash } from "node:crypto"
import * as Os from "node:os"
import * as Path from "node:path"

/**
 * @since 2.0.0
 * @category models
 */
export interface Paths {
  readonly dataDir: string
  readonly socket: string
  readonly lock: string
  readonly pidFile: string
  readonly logDir: string
  readonly logFile: string
  readonly token: string
  readonly port: string
}

/**
 * @since 2.0.0
 * @category constructors
 */
export const defaultDataDir = (env: NodeJS.ProcessEnv = process.env, platform = process.platform): string => {
  if (env.JARVIS_HOME !== undefined && env.JARVIS_HOME !== "") return Path.resolve(env.JARVIS_HOME)
  const home = Os.homedir()
  switch (platform) {
    case "darwin":
      return Path.join(home, "Library", "Application Support", "Jarvis")
    case "win32":
      return Path.join(env.APPDATA ?? Path.join(home, "AppData", "Roaming"), "Jarvis")
    default:
      return Path.join(env.XDG_DATA_HOME ?? Path.join(home, ".local", "share"), "jarvis")
  }
}

/** Unix socket paths are limited to about 104 bytes; long data directories get one in the temp dir. */
const MAX_SOCKET_PATH = 100

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = (dataDir: string): Paths => {
  const local = Path.join(dataDir, "jarvis.sock")
  const socket = local.length <= MAX_SOCKET_PATH
    ? local
    : Path.join(Os.tmpdir(), `jarvis-${createHash("sha256").update(dataDir).digest("hex").slice(0, 16)}`, "jarvis.sock")
  return {
    dataDir,
    socket,
    lock: Path.join(dataDir, "daemon.lock"),
    pidFile: Path.join(dataDir, "daemon.pid"),
    logDir: Path.join(dataDir, "logs"),
    logFile: Path.join(dataDir, "logs", "daemon.log"),
    token: Path.join(dataDir, "ipc.token"),
    port: Path.join(dataDir, "ipc.port")
  }
}

/**
 * Unix socket on POSIX, loopback TCP with a token on Windows (`JARVIS_IPC=tcp` forces TCP).
 *
 * @since 2.0.0
 * @category constructors
 */
export const ipcTransport = (env: NodeJS.ProcessEnv = process.env, platform = process.platform): "unix" | "tcp" =>
  env.JARVIS_IPC === "tcp" || (env.JARVIS_IPC !== "unix" && platform === "win32") ? "tcp" : "unix"
