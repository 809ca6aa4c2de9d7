import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

// The injection grammar's patterns use no Oniguruma-only syntax, so JavaScript's RegExp checks them.
const grammar = JSON.parse(readFileSync(path.resolve(__dirname, "..", "..", "syntaxes", "riposte-playbook.injection.tmLanguage.json"), "utf8")) as {
  injectionSelector: string;
  repository: Record<string, { match: string; captures: Record<string, { name: string }> }>;
};
const rule = (name: string) => new RegExp(grammar.repository[name]?.match ?? "(?!)");
const scopeOf = (name: string, group: number) => grammar.repository[name]?.captures[String(group)]?.name ?? "";

test("is injected into Python code, not its strings or comments", () => {
  assert.equal(grammar.injectionSelector, "L:source.python -comment -string");
});

test("integration names in ctx.integration(…)", () => {
  const m = rule("integration-call").exec(`    vt = ctx.integration("VirusTotal")`);
  assert.equal(m?.[7], "VirusTotal");
  assert.match(scopeOf("integration-call", 7), /entity\.name\.type\.riposte\.integration/);
  assert.equal(rule("integration-call").exec(`ctx.integration('Microsoft Graph')`)?.[11], "Microsoft Graph");
});

test("SDK members of ctx and alert", () => {
  assert.equal(rule("ctx-member").exec("ctx.comment(f'x')")?.[3], "comment");
  assert.equal(rule("ctx-member").exec("if ctx.dry_run:")?.[4], "dry_run");
  assert.equal(rule("ctx-member").exec("ctx.commentary(1)"), null);
  assert.equal(rule("alert-member").exec("for url in alert.urls():")?.[3], "urls");
  assert.equal(rule("alert-member").exec("alert.severity == 'high'")?.[4], "severity");
});

test("HTTP calls chained on a client", () => {
  assert.equal(rule("client-http-call").exec(`ctx.integration("Slack").post("/chat.postMessage")`)?.[2], "post");
});
