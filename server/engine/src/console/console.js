// The engine console: reads the JSON API with the token the user typed and renders tables.
// Every value goes in with textContent: alert titles and comments are attacker-controlled text.
"use strict";

const TOKEN_KEY = "riposte-engine-token";

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

async function api(path) {
  const headers = {};
  if (token()) headers["Authorization"] = "Bearer " + token();
  const response = await fetch(path, { headers });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = body && body.error ? body.error.message : response.statusText;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return body;
}

function cell(row, value, className) {
  const td = document.createElement("td");
  if (value instanceof Node) td.appendChild(value);
  else td.textContent = value === null || value === undefined ? "" : String(value);
  if (className) td.className = className;
  row.appendChild(td);
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

function fill(tableId, items, render) {
  const body = document.querySelector("#" + tableId + " tbody");
  body.replaceChildren();
  for (const item of items) {
    const row = document.createElement("tr");
    render(row, item);
    body.appendChild(row);
  }
}

async function overview() {
  const [playbooks, rules, runs] = await Promise.all([
    api("/api/playbooks"), api("/api/rules"), api("/api/runs?limit=50"),
  ]);
  fill("playbooks", playbooks.playbooks, (row, p) => {
    cell(row, p.name);
    cell(row, p.active_version === null ? "none (disabled)" : p.active_version);
    cell(row, p.latest_version);
    cell(row, p.updated_at);
  });
  fill("rules", rules.rules, (row, r) => {
    cell(row, r.order);
    cell(row, r.name);
    cell(row, r.enabled ? "yes" : "no");
    cell(row, r.trigger);
    cell(row, r.action === "run_playbook" ? "run " + r.playbook : r.action);
    cell(row, r.problem || "");
  });
  fill("runs", runs.runs, (row, r) => {
    cell(row, r.id);
    cell(row, r.state, "state-" + r.state);
    cell(row, r.status || r.error || "");
    cell(row, r.playbook + (r.playbook_version ? " v" + r.playbook_version : ""));
    cell(row, r.rule);
    cell(row, link("/console/alerts/" + encodeURIComponent(r.alert_id), r.alert_id));
    cell(row, r.queued_at);
    cell(row, r.finished_at || "");
  });
  document.getElementById("overview").hidden = false;
}

async function alertPage(id) {
  const [alert, activity] = await Promise.all([
    api("/api/alerts/" + encodeURIComponent(id)),
    api("/api/alerts/" + encodeURIComponent(id) + "/activity"),
  ]);
  document.getElementById("alert-title").textContent = alert.title + " (" + alert.severity + ")";
  document.getElementById("alert-meta").textContent =
    "id " + alert.id + " · " + alert.source + " · status " + (alert.status || "none") +
    " · workspace " + alert.workspace + " · received " + alert.received_at;
  fill("activity", activity.entries, (row, e) => {
    cell(row, e.at);
    cell(row, e.kind);
    cell(row, e.text);
    cell(row, e.run_id === null ? "" : e.run_id);
    cell(row, e.rule || "");
  });
  document.getElementById("alert").hidden = false;
}

async function show() {
  const error = document.getElementById("error");
  error.textContent = "";
  try {
    const who = await api("/api/whoami");
    document.getElementById("role").textContent = "role: " + who.role;
    document.getElementById("login").hidden = true;
    const match = location.pathname.match(/^\/console\/alerts\/(.+)$/);
    if (match) await alertPage(decodeURIComponent(match[1]));
    else await overview();
  } catch (e) {
    if (e.status === 401) {
      document.getElementById("login").hidden = false;
      if (token()) error.textContent = e.message;
    } else {
      error.textContent = e.message;
    }
  }
}

document.getElementById("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  show();
});

show();
