// The run page, live: the run's events over Server-Sent Events update the steps, the latest screenshot and
// the question card; the card's answer and the Cancel button go to the JSON API with fetch(). Without this
// script the page still works: it is rendered whole on the server, and its forms post to the server.
// A reconnecting EventSource sends Last-Event-ID itself, and step rows are keyed by their number, so a dropped
// connection never shows a step twice.
"use strict";

(function () {
  const root = document.getElementById("run");
  if (!root || root.dataset.active !== "yes") {
    return;
  }
  const runId = root.dataset.run;
  const base = "/api/runs/" + encodeURIComponent(runId);
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const byId = (id) => document.getElementById(id);
  let countdown = null;

  function evidenceUrl(path) {
    return "/runs/" + encodeURIComponent(runId) + "/evidence/" + path.split("/").map(encodeURIComponent).join("/");
  }

  function ordinal(n) {
    const tens = n % 100;
    const suffix = tens >= 11 && tens <= 13 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
    return n + suffix;
  }

  function cell(className, text) {
    const td = document.createElement("td");
    td.className = className;
    td.textContent = text;
    return td;
  }

  function showStep(step) {
    const rows = byId("step-rows");
    const cells = [
      cell("num", step.number),
      cell("label", step.label),
      cell("result", step.status),
      cell("time", Number(step.duration_s || 0).toFixed(1) + " s"),
      cell("detail", step.error || step.detail || ""),
    ];
    let row = Array.from(rows.querySelectorAll("tr[data-step]")).find((tr) => tr.dataset.step === step.number);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.step = step.number;
      rows.appendChild(row);
    }
    row.className = "step status-" + step.status + " action-" + step.action;
    row.replaceChildren(...cells);
    const none = byId("no-steps");
    if (none) {
      none.remove();
    }
    if (step.screenshot && step.status !== "running") {
      showShot(step);
    }
  }

  function showShot(step) {
    const figure = byId("latest-shot");
    const img = byId("latest-img");
    img.src = evidenceUrl(step.screenshot);
    img.alt = "The page after step " + step.number + ": " + step.label;
    byId("latest-caption").textContent = "After step " + step.number + ": " + step.label;
    figure.hidden = false;
  }

  function showStatus(status, note) {
    byId("run-status-name").textContent = status;
    byId("run-status-note").textContent = note ? "(" + note + ")" : "";
  }

  function tick(deadline) {
    const left = Math.round((deadline - Date.now()) / 1000);
    const text = byId("countdown");
    if (left <= 0) {
      text.textContent = "Time is up: the run ends as unanswered.";
      return;
    }
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    text.textContent = minutes + ":" + seconds + " left to answer; then the run ends as unanswered.";
  }

  function startCountdown(iso) {
    clearInterval(countdown);
    const deadline = Date.parse(iso);
    if (Number.isNaN(deadline)) {
      return;
    }
    tick(deadline);
    countdown = setInterval(() => tick(deadline), 1000);
  }

  function setDisabled(container, disabled) {
    container.querySelectorAll("input, button").forEach((control) => {
      control.disabled = disabled;
    });
  }

  function showQuestion(card) {
    const section = byId("question");
    byId("question-prompt").textContent = card.prompt;
    const form = byId("answer-form");
    if (form) {
      byId("question-name").value = card.name;
      const yesNo = card.kind === "yes_no";
      const text = byId("answer-text");
      const buttons = byId("answer-yes-no");
      text.hidden = yesNo;
      buttons.hidden = !yesNo;
      setDisabled(text, yesNo);
      setDisabled(buttons, !yesNo);
      const input = byId("answer-value");
      input.type = card.secret ? "password" : "text";
      input.value = "";
      const hints = JSON.parse(section.dataset.hints || "{}");
      byId("answer-hint").textContent =
        card.pattern_hint || hints[card.name] || (card.pattern ? "In the form " + card.pattern : "");
      clearError();
    }
    const shot = byId("question-shot");
    if (card.screenshot) {
      shot.querySelector("img").src = evidenceUrl(card.screenshot);
    }
    shot.hidden = !card.screenshot;
    section.hidden = false;
    startCountdown(card.deadline);
    showStatus("waiting", "waiting for an answer");
  }

  function hideQuestion() {
    clearInterval(countdown);
    byId("question").hidden = true;
    const input = byId("answer-value");
    if (input) {
      input.value = ""; // a secret typed here is never kept in the page
    }
  }

  function clearError() {
    const error = byId("answer-error");
    error.textContent = "";
    error.hidden = true;
    byId("answer-value").removeAttribute("aria-invalid");
  }

  function showError(message) {
    const error = byId("answer-error");
    error.textContent = message;
    error.hidden = false;
    const input = byId("answer-value");
    if (!input.disabled) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  async function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": token },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  }

  async function reason(response) {
    try {
      return (await response.json()).error;
    } catch (ignored) {
      return "the console answered " + response.status + ": refresh the page and try again";
    }
  }

  async function answer(event) {
    event.preventDefault();
    const input = byId("answer-value");
    const fromButton = event.submitter && event.submitter.name === "value";
    const value = fromButton ? event.submitter.value : input.value;
    const secret = input.type === "password";
    if (secret) {
      input.value = "";
    }
    const response = await post("/answers", { name: byId("question-name").value, value: value });
    if (response.status === 204) {
      hideQuestion();
      showStatus("running", "answer sent");
      return;
    }
    showError(await reason(response));
  }

  async function cancel(event) {
    event.preventDefault();
    const button = event.submitter || event.target.querySelector("button");
    button.disabled = true;
    const response = await post("/cancel");
    if (response.ok) {
      showStatus(byId("run-status-name").textContent, "cancelling: the run stops within a few seconds");
      return;
    }
    button.disabled = false;
    showStatus(byId("run-status-name").textContent, await reason(response));
  }

  async function checkEnded() {
    // The stream failed: if the run has ended meanwhile, show its outcome; else EventSource reconnects itself.
    const response = await fetch(base, { credentials: "same-origin" });
    if (!response.ok) {
      showStatus(byId("run-status-name").textContent, "live updates stopped: refresh the page");
      return;
    }
    const state = await response.json();
    if (!["queued", "running", "waiting"].includes(state.status)) {
      location.reload();
    }
  }

  const form = byId("answer-form");
  if (form) {
    form.addEventListener("submit", answer);
  }
  const cancelForm = byId("cancel-form");
  if (cancelForm) {
    cancelForm.addEventListener("submit", cancel);
  }
  const deadline = byId("countdown");
  if (deadline && deadline.dataset.deadline && !byId("question").hidden) {
    startCountdown(deadline.dataset.deadline);
  }

  const source = new EventSource(base + "/events?after=" + encodeURIComponent(root.dataset.after));
  const data = (event) => JSON.parse(event.data);
  source.addEventListener("step", (event) => showStep(data(event)));
  // `say` events are not shown apart: the say step's own row carries the instruction.
  source.addEventListener("status", (event) => {
    const status = data(event);
    const place = status.position ? "(" + ordinal(status.position) + " in the queue)" : "";
    showStatus(status.status, status.note || place);
  });
  source.addEventListener("question", (event) => showQuestion(data(event)));
  source.addEventListener("answered", hideQuestion);
  source.addEventListener("finished", () => {
    source.close();
    location.reload(); // the outcome screen is the server's page
  });
  let lost = false;
  source.addEventListener("error", () => {
    // EventSource reconnects by itself and sends Last-Event-ID: say so meanwhile
    lost = true;
    showStatus(byId("run-status-name").textContent, "connection lost: reconnecting…");
    checkEnded().catch(() => undefined);
  });
  source.addEventListener("open", () => {
    if (lost) {
      lost = false;
      showStatus(byId("run-status-name").textContent, "");
    }
  });
})();
