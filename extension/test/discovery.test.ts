import assert from "node:assert/strict";
import { chmod, mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";

import {
  checkVersionOutput,
  expandSettingPath,
  findServer,
  isCompatible,
  parseVersion,
  resolveServer,
  runVersion,
  type DiscoveryInput,
} from "../src/lib/discovery";

let dir: string;

async function script(name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "riposte-discovery-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function input(over: Partial<DiscoveryInput>): DiscoveryInput {
  return {
    settingPath: "",
    bundledPath: path.join(dir, "no-bundle", "riposte"),
    pathEnv: "",
    platform: "linux",
    home: "/home/analyst",
    workspaceFolder: "/work/ws",
    ...over,
  };
}

describe("expandSettingPath", () => {
  test("expands ~, ${userHome} and ${workspaceFolder}; relative paths are from the workspace", () => {
    assert.equal(expandSettingPath("~/bin/riposte", "/home/a", "/ws"), "/home/a/bin/riposte");
    assert.equal(expandSettingPath("${userHome}/riposte", "/home/a", "/ws"), "/home/a/riposte");
    assert.equal(expandSettingPath("${workspaceFolder}/target/debug/riposte", "/home/a", "/ws"), "/ws/target/debug/riposte");
    assert.equal(expandSettingPath("target/release/riposte", "/home/a", "/ws"), "/ws/target/release/riposte");
    assert.equal(expandSettingPath("  ", "/home/a", "/ws"), "");
  });
});

describe("findServer: setting, then bundled, then PATH", () => {
  test("the setting wins when it points at an executable", async () => {
    const fromSetting = await script("setting/riposte", "echo riposte 0.1.0");
    const bundled = await script("bundled/riposte", "echo riposte 0.1.0");
    const r = await findServer(input({ settingPath: fromSetting, bundledPath: bundled, pathEnv: path.dirname(bundled) }));
    assert.deepEqual(r, { ok: true, server: { path: fromSetting, source: "setting" } });
  });

  test("a setting that points nowhere is an error, not a silent fallback", async () => {
    const bundled = await script("bundled2/riposte", "echo riposte 0.1.0");
    const r = await findServer(input({ settingPath: path.join(dir, "missing", "riposte"), bundledPath: bundled }));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.problem.kind, "setting-path-missing");
      assert.match(r.problem.message, /riposte\.server\.path/);
      assert.match(r.problem.next, /Fix or clear the setting/);
    }
  });

  test("the bundled binary comes before PATH", async () => {
    const bundled = await script("bundled3/riposte", "echo riposte 0.1.0");
    const onPath = await script("pathdir/riposte", "echo riposte 0.1.0");
    const r = await findServer(input({ bundledPath: bundled, pathEnv: path.dirname(onPath) }));
    assert.deepEqual(r, { ok: true, server: { path: bundled, source: "bundled" } });
  });

  test("PATH is searched in order, skipping non-executables", async () => {
    const notExec = path.join(dir, "pathA", "riposte");
    await mkdir(path.dirname(notExec), { recursive: true });
    await writeFile(notExec, "not executable");
    const exec = await script("pathB/riposte", "echo riposte 0.1.0");
    const r = await findServer(input({ pathEnv: `${path.dirname(notExec)}::${path.dirname(exec)}` }));
    assert.deepEqual(r, { ok: true, server: { path: exec, source: "path" } });
  });

  test("nothing found: says how to build it and where to point the setting", async () => {
    const r = await findServer(input({ pathEnv: path.join(dir, "empty") }));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.problem.kind, "not-found");
      assert.match(r.problem.next, /cargo build --release --bin riposte/);
      assert.match(r.problem.next, /riposte\.server\.path/);
    }
  });
});

describe("version check", () => {
  test("parses clap's --version output", () => {
    assert.equal(parseVersion("riposte 0.1.0\n"), "0.1.0");
    assert.equal(parseVersion("riposte 1.2.3-beta.1"), "1.2.3-beta.1");
    assert.equal(parseVersion("ruff 0.5.0"), undefined);
    assert.equal(parseVersion(""), undefined);
  });

  test("0.x must match the minor version; 1.x the major", () => {
    assert.equal(isCompatible("0.1.7", "0.1.0"), true);
    assert.equal(isCompatible("0.2.0", "0.1.0"), false);
    assert.equal(isCompatible("1.9.0", "1.0.0"), true);
    assert.equal(isCompatible("2.0.0", "1.4.0"), false);
    assert.equal(isCompatible("garbage", "0.1.0"), false);
  });

  test("a real binary: the right version passes", async () => {
    const bin = await script("v-ok/riposte", "echo 'riposte 0.1.3'");
    const r = await resolveServer(input({ settingPath: bin }), "0.1.0");
    assert.deepEqual(r, { ok: true, server: { path: bin, source: "setting" }, version: "0.1.3" });
  });

  test("a wrong version names both versions and what to install", async () => {
    const bin = await script("v-old/riposte", "echo 'riposte 0.0.9'");
    const r = await resolveServer(input({ settingPath: bin }), "0.1.0");
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.problem.kind, "wrong-version");
      assert.match(r.problem.message, /0\.0\.9/);
      assert.match(r.problem.message, /0\.1\.x/);
      assert.match(r.problem.next, /Install riposte 0\.1\.x/);
    }
  });

  test("not a riposte binary", async () => {
    const bin = await script("v-other/riposte", "echo 'Python 3.11.7'");
    const r = await resolveServer(input({ settingPath: bin }), "0.1.0");
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.problem.kind, "version-unparsable");
      assert.match(r.problem.message, /Python 3\.11\.7/);
    }
  });

  test("a binary that crashes on start: the exit code and its stderr", async () => {
    const bin = await script("v-crash/riposte", "echo 'error while loading shared libraries: libfoo.so' >&2; exit 127");
    const r = await resolveServer(input({ settingPath: bin }), "0.1.0");
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.problem.kind, "version-failed");
      assert.match(r.problem.message, /exit code 127/);
      assert.match(r.problem.message, /libfoo\.so/);
    }
  });

  test("a binary that hangs is stopped by the time limit", async () => {
    const bin = await script("v-hang/riposte", "sleep 10");
    const started = Date.now();
    const out = await runVersion(bin, 300);
    assert.ok(Date.now() - started < 5000);
    const checked = checkVersionOutput({ path: bin, source: "path" }, out, "0.1.0");
    assert.equal(checked.ok, false);
    if (!checked.ok) assert.match(checked.problem.message, /did not answer/);
  });

  test("a file that is not a program", async () => {
    const bin = path.join(dir, "v-garbage", "riposte");
    await mkdir(path.dirname(bin), { recursive: true });
    await writeFile(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0]));
    await chmod(bin, 0o755);
    const r = await resolveServer(input({ settingPath: bin }), "0.1.0");
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.problem.kind, "version-failed");
  });
});
