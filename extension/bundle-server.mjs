// Puts the `riposte` binary for this platform into dist/server/ so the .vsix carries it.
// RIPOSTE_SERVER_BINARY=path uses a binary already built (CI reuses its debug build); otherwise
// `cargo build --release --locked --bin riposte` (a no-op when it is up to date) builds it.
import { spawnSync } from "node:child_process";
import { chmod, copyFile, mkdir, stat } from "node:fs/promises";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const exe = process.platform === "win32" ? "riposte.exe" : "riposte";
let source = process.env.RIPOSTE_SERVER_BINARY;

if (!source) {
  console.log("bundle-server: cargo build --release --locked --bin riposte");
  const r = spawnSync("cargo", ["build", "--release", "--locked", "--bin", "riposte"], { cwd: root, stdio: "inherit" });
  if (r.error || r.status !== 0) {
    console.error(
      "bundle-server: building riposte failed. Install Rust (rustup) and run `cargo build --release --bin riposte`, " +
        "or set RIPOSTE_SERVER_BINARY to a riposte binary you have.",
    );
    process.exit(1);
  }
  source = path.join(root, "target", "release", exe);
}
source = path.resolve(root, source);
try {
  if (!(await stat(source)).isFile()) throw new Error("not a file");
} catch {
  console.error(`bundle-server: ${source} does not exist. Build it (cargo build --release --bin riposte) or fix RIPOSTE_SERVER_BINARY.`);
  process.exit(1);
}
const version = spawnSync(source, ["--version"], { encoding: "utf8" });
if (version.status !== 0 || !/^riposte \d+\.\d+\.\d+/.test(version.stdout)) {
  console.error(`bundle-server: ${source} --version answered ${JSON.stringify(version.stdout || version.stderr)}; not a riposte binary.`);
  process.exit(1);
}
const dest = path.join(root, "dist", "server", exe);
await mkdir(path.dirname(dest), { recursive: true });
await copyFile(source, dest);
await chmod(dest, 0o755);
console.log(`bundle-server: ${path.relative(root, source)} (${version.stdout.trim()}) -> ${path.relative(root, dest)}`);
