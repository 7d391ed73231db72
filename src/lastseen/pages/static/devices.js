// The Active devices page without reloads.
//
// Without this script every button is a plain form post, and the server responds with a
// redirect. With it, forms marked data-fetch post through fetch() and ask for JSON, so the
// signed-out cards leave the list in place and the notice is read out by screen readers.
// "Sign out of all other devices" opens a <dialog> to confirm instead of the confirmation
// page.
"use strict";

(function () {
  const FAILED = "Signing out failed. Reload the page and try again.";

  const notice = document.getElementById("notice");
  const list = document.getElementById("devices");
  const heading = document.getElementById("devices-heading");
  const others = document.getElementById("others");
  const noOthers = document.getElementById("no-others");
  const dialog = document.getElementById("confirm-dialog");

  function announce(text, isError) {
    notice.textContent = text;
    notice.classList.toggle("notice-error", isError);
  }

  function otherCards() {
    return list.querySelectorAll('.device[data-current="false"]');
  }

  // Focus moves to the next card's button, else the previous card's, else the heading, so a
  // keyboard user does not lose their place when the focused card goes away.
  function focusAfterRemoving(card) {
    for (const sibling of [card && card.nextElementSibling, card && card.previousElementSibling]) {
      const button = sibling && sibling.querySelector("button");
      if (button) {
        return button;
      }
    }
    return heading;
  }

  function removeCards(sessionIds) {
    for (const sessionId of sessionIds) {
      const card = document.getElementById("session-" + sessionId);
      if (card) {
        card.remove();
      }
    }
    if (otherCards().length === 0) {
      others.hidden = true;
      noOthers.hidden = false;
    }
  }

  // Posts the form as application/x-www-form-urlencoded, which the server reads. FormData
  // alone would be sent as multipart/form-data.
  async function post(form) {
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch (error) {
      throw new Error(FAILED, { cause: error });
    }

    let body = {};
    try {
      body = await response.json();
    } catch (error) {
      body = {};
    }
    if (response.status === 401 && body.location) {
      window.location.assign(body.location);
      return null;
    }
    if (!response.ok) {
      throw new Error(body.error || FAILED);
    }
    return body;
  }

  async function submitInPlace(form) {
    const buttons = form.querySelectorAll("button");
    const card = form.closest(".device");
    for (const button of buttons) {
      button.disabled = true;
    }

    try {
      const body = await post(form);
      if (body === null) {
        return;
      }
      const next = card ? focusAfterRemoving(card) : heading;
      if (dialog && dialog.open) {
        dialog.close();
      }
      removeCards(body.removed);
      announce(body.notice, false);
      next.focus();
    } catch (error) {
      announce(error.message, true);
      for (const button of buttons) {
        button.disabled = false;
      }
    }
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    if (form.dataset.confirm && dialog && typeof dialog.showModal === "function") {
      event.preventDefault();
      dialog.showModal();
      return;
    }
    if (form.hasAttribute("data-fetch")) {
      event.preventDefault();
      submitInPlace(form);
    }
  });

  if (dialog) {
    for (const button of dialog.querySelectorAll("[data-close]")) {
      button.addEventListener("click", function () {
        dialog.close();
      });
    }
  }
})();
