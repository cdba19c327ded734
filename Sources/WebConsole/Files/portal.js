// The user portal's one script: copies an invitation's token from the link's fragment (which no server log sees)
// into the form, and asks before a form that removes a factor is sent. Everything works without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const token = document.getElementById("token");
  if (token && location.hash.length > 1) {
    token.value = decodeURIComponent(location.hash.slice(1));
    history.replaceState(null, "", location.pathname);
  }
});

document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
