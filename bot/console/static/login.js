"use strict";
// Sign-in: the session cookie (HttpOnly) is set by the API; nothing secret is kept in JS.
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.hidden = true;
  const body = {
    username: document.getElementById("username").value.trim(),
    password: document.getElementById("password").value,
  };
  const response = await fetch("/api/v1/agent/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.ok) {
    window.location.assign("/console/desk");
    return;
  }
  let message = "Sign-in failed.";
  try {
    message = (await response.json()).error.message;
  } catch (_) { /* keep the generic message */ }
  error.textContent = message;
  error.hidden = false;
});
