// The dashboard: polls api/stats (relative to <base>, so any mount path works) once a second
// with the API key, and draws the last 60 s of publication and delivery rates computed from the
// node's running totals and its own clock (uptimeMs), so a slow poll does not distort a rate.
// The key comes from the address's fragment (#key=..., never sent to any server) or the form,
// and stays in sessionStorage: gone when the tab closes.
"use strict";

(() => {
  const POLL_MS = 1000;
  const WINDOW_MS = 60000;
  const STORAGE = "pubsub-admin-key";
  const $ = (id) => document.getElementById(id);

  let samples = [];
  let timer = 0;

  function takeKeyFromFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    const key = params.get("key");
    if (key) {
      sessionStorage.setItem(STORAGE, key);
      // Out of the address bar and the history, so it is not shared with a copied link.
      history.replaceState(null, "", location.pathname + location.search);
    }
  }

  function askForKey(message) {
    $("stats").hidden = samples.length === 0;
    $("key-form").hidden = false;
    $("key-error").textContent = message || "";
    $("readiness").textContent = "locked";
    $("readiness").dataset.ready = "";
    $("key").focus();
  }

  async function poll() {
    clearTimeout(timer);
    const key = sessionStorage.getItem(STORAGE);
    if (!key) {
      askForKey("");
      return;
    }
    try {
      const response = await fetch("api/stats", { headers: { "X-API-Key": key }, cache: "no-store" });
      if (response.status === 401) {
        sessionStorage.removeItem(STORAGE);
        askForKey("That key was refused.");
        return;
      }
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        showProblem((body && body.error && body.error.message) || "The node answered " + response.status + ".");
      } else {
        render(await response.json());
      }
    } catch (error) {
      showProblem("The node cannot be reached (" + error.message + ").");
    }
    timer = setTimeout(poll, POLL_MS);
  }

  function showProblem(message) {
    $("readiness").textContent = "unreachable";
    $("readiness").dataset.ready = "false";
    $("updated").textContent = message;
  }

  function render(stats) {
    $("key-form").hidden = true;
    $("stats").hidden = false;
    const node = stats.node;
    document.title = "PubSub " + node.id;
    $("node-id").textContent = node.id;
    $("broker").textContent = node.broker;
    $("uptime").textContent = duration(node.uptimeMs);
    $("readiness").textContent = node.ready ? "ready" : "not ready";
    $("readiness").dataset.ready = String(node.ready);
    $("readiness").title = node.notReadyReason || "";
    // The live nodes, from the control plane; this node only while its broker cannot be reached.
    const nodes = stats.nodes;
    $("nodes").textContent = nodes.ids.join(", ");
    const unanswered = nodes.unanswered || [];
    $("nodes-note").textContent = nodes.scope === "this-node"
      ? "This node only: its broker cannot be reached, so it cannot ask the others."
      : unanswered.length > 0 ? "Did not answer: " + unanswered.join(", ") + "." : "";
    $("nodes-note").hidden = $("nodes-note").textContent === "";
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();

    $("sessions-total").textContent = count(stats.sessions.total);
    for (const row of $("transports").querySelectorAll("tr[data-transport]")) {
      row.querySelector(".count").textContent = count(stats.sessions.byTransport[row.dataset.transport] || 0);
    }

    // On all nodes together when the control plane answered; this node's otherwise.
    const channels = stats.channels;
    const listed = channels.cluster || channels;
    const where = channels.cluster ? "on any node" : "on this node";
    $("channels-total").textContent = count(listed.total) + (channels.cluster && channels.cluster.truncated ? "+" : "");
    $("channels-note").textContent = (listed.top.length === 0
      ? "No channel has subscribers " + where + "."
      : "The " + listed.top.length + " with the most subscribers " + where + " (at most " + channels.limit + " are listed)") +
      " · this node: " + count(channels.total) + " channels, " + count(channels.subscriptions) + " subscriptions";
    const body = $("channels").tBodies[0];
    body.replaceChildren(...listed.top.map((channel) => {
      const row = document.createElement("tr");
      row.dataset.channel = channel.name;
      const name = document.createElement("td");
      name.className = "name";
      name.textContent = channel.name;
      const subscribers = document.createElement("td");
      subscribers.className = "subscribers";
      subscribers.textContent = count(channel.subscribers);
      row.append(name, subscribers);
      return row;
    }));

    addSample(node, stats.totals);
    chart("publications", "publications", stats.totals.publications);
    chart("deliveries", "deliveries", stats.totals.deliveries);
  }

  function addSample(node, totals) {
    const last = samples[samples.length - 1];
    // A restarted node (or another one behind the same address) starts its totals again.
    if (last && (last.node !== node.id || node.uptimeMs < last.at)) {
      samples = [];
    }
    samples.push({ node: node.id, at: node.uptimeMs, publications: totals.publications, deliveries: totals.deliveries });
    while (samples.length > 2 && samples[0].at < node.uptimeMs - WINDOW_MS) {
      samples.shift();
    }
  }

  /** Rates between consecutive samples, drawn over the window with the newest at the right. */
  function chart(id, field, total) {
    const card = $(id);
    const rates = [];
    for (let i = 1; i < samples.length; i++) {
      const seconds = (samples[i].at - samples[i - 1].at) / 1000;
      rates.push({ at: samples[i].at, rate: seconds > 0 ? Math.max(0, samples[i][field] - samples[i - 1][field]) / seconds : 0 });
    }
    const now = samples[samples.length - 1].at;
    // Until a full window has passed, what there is fills the chart.
    const span = Math.max(1, Math.min(WINDOW_MS, now - samples[0].at));
    const peak = rates.reduce((max, r) => Math.max(max, r.rate), 0);
    const scale = peak > 0 ? peak * 1.15 : 1;
    const points = rates.map((r) => {
      const x = 300 * Math.max(0, 1 - (now - r.at) / span);
      const y = 79 - 76 * (r.rate / scale);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    if (points.length > 0) {
      // The first rate holds from the window's start, so one sample draws a line, not a dot.
      points.unshift("0," + points[0].split(",")[1]);
    }
    card.querySelector("polyline").setAttribute("points", points.join(" "));
    card.querySelector("polygon").setAttribute("points", points.length ? "0,80 " + points.join(" ") + " 300,80" : "");
    card.querySelector(".rate").textContent = rates.length ? rate(rates[rates.length - 1].rate) : "–";
    card.querySelector(".peak").textContent = rate(peak);
    card.querySelector(".total").textContent = count(total);
  }

  const count = (n) => n.toLocaleString("en-US");
  const rate = (r) => (r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1));

  function duration(ms) {
    const s = Math.floor(ms / 1000);
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    return d > 0 ? d + "d " + h + "h" : h > 0 ? h + "h " + m + "m" : m > 0 ? m + "m " + (s % 60) + "s" : s + "s";
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(STORAGE, $("key").value);
      $("key").value = "";
      poll();
    });
    takeKeyFromFragment();
    poll();
  });
})();
