() => {
  // CMO Assistant's one script. Answers arrive later than this runs, so every handler is delegated.
  // Clicking a [n] marker marks its source card and scrolls only the Sources panel (never the page), so the
  // question and the answer stay where they are; on a phone the panel is a bottom sheet that opens below the
  // clicked marker, so the next marker can be clicked with the sheet open.
  const phone = () => window.matchMedia("(max-width: 767px)").matches;
  const panel = () => document.getElementById("sources-panel");

  function showCard(link) {
    const box = panel();
    const card = document.getElementById("source-" + link.dataset.marker);
    if (!box || !card) return;
    document.querySelectorAll(".cmo-source-active").forEach((el) => el.classList.remove("cmo-source-active"));
    card.classList.add("cmo-source-active");
    if (phone()) {
      openSheet(box, link);
      hide();  // the sheet shows the whole passage; the preview would cover the answer
    } else {
      box.style.maxHeight = "";
    }
    requestAnimationFrame(() => {
      // The card goes to the top of the part of the panel that is on screen, below the panel's heading.
      const outer = box.getBoundingClientRect();
      const heading = box.firstElementChild?.getBoundingClientRect().height ?? 0;
      const top = Math.max(outer.top, 0) + heading + 8;
      box.scrollTop += card.getBoundingClientRect().top - top;
      if (phone()) keepAboveSheet(box, link);
    });
  }

  // On a phone the panel is a bottom sheet over the chat. It is only as tall as leaves the answer's markers
  // that are in the chat's view above it (between 22% and 40% of the screen), the chat gets room below its
  // last message so that any later marker can be scrolled above the sheet, and the clicked marker is.
  let lastMarker = null;
  let padded = null;
  function openSheet(box, link) {
    const chat = scrollBox(link) ?? document.getElementById("chat");
    const seen = chat ? chat.getBoundingClientRect().bottom : window.innerHeight;
    const answer = link.closest("[data-testid='bot']") ?? link.parentElement;
    const bottoms = [...answer.querySelectorAll(".cmo-cite")]
      .map((m) => m.getBoundingClientRect().bottom)
      .filter((bottom) => bottom <= seen);
    const lowest = Math.max(link.getBoundingClientRect().bottom, ...bottoms);
    const screen = window.innerHeight;
    const height = Math.min(0.4 * screen, Math.max(0.22 * screen, screen - lowest - 12));
    box.style.maxHeight = Math.round(height) + "px";
    box.classList.add("cmo-sheet-open");
  }
  // The sheet's top once open (offsetHeight: its height without the opening slide's transform).
  const sheetTop = (box) => window.innerHeight - box.offsetHeight;
  function keepAboveSheet(box, link) {
    const chat = scrollBox(link);
    if (!chat) return;
    if (padded && padded !== chat) padded.style.paddingBottom = "";
    chat.style.paddingBottom = "";
    const covered = chat.getBoundingClientRect().bottom - sheetTop(box);
    chat.style.paddingBottom = Math.max(0, Math.ceil(covered)) + 8 + "px";
    padded = chat;
    const needed = link.getBoundingClientRect().bottom - (sheetTop(box) - 8);
    if (needed > 0) chat.scrollTop += needed;
  }
  function closeSheet() {
    const box = panel();
    if (!box) return;
    box.classList.remove("cmo-sheet-open");
    box.style.maxHeight = "";
    if (padded) padded.style.paddingBottom = "";
    padded = null;
  }
  // The element that scrolls the chat (whether or not it has anything to scroll yet).
  function scrollBox(el) {
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      if (/(auto|scroll)/.test(getComputedStyle(node).overflowY)) return node;
    }
    return null;
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest?.(".cmo-cite");
    if (link) {
      event.preventDefault();
      lastMarker = link;
      showCard(link);
      return;
    }
    if (event.target.closest?.(".cmo-sheet-close")) {
      closeSheet();
      lastMarker?.focus({preventScroll: true});
    }
  }, true);

  // A preview of the passage (its supporting sentences) while a marker is hovered or focused.
  let tip = null;
  let shownFor = null;
  function preview(link) {
    const card = document.getElementById("source-" + link.dataset.marker);
    if (!card) return;
    if (!tip) {
      tip = document.createElement("div");
      tip.id = "cmo-preview";
      tip.className = "cmo-preview";
      tip.setAttribute("role", "tooltip");
      document.body.appendChild(tip);
    }
    const title = card.querySelector(".cmo-source-head strong")?.textContent ?? "";
    const marks = [...card.querySelectorAll(".cmo-passage mark")].map((m) => m.textContent.trim());
    let text = marks.length ? marks.join(" \u2026 ") : (card.querySelector(".cmo-passage")?.textContent ?? "");
    if (text.length > 320) text = text.slice(0, 317) + "\u2026";
    const head = document.createElement("strong");
    head.textContent = "[" + link.dataset.marker + "] " + title;
    tip.replaceChildren(head, document.createTextNode(text));
    tip.hidden = false;
    shownFor = link;
    place(link);
    link.setAttribute("aria-describedby", "cmo-preview");
  }
  // Below the marker, or above it when there is no room below; kept there while anything scrolls.
  function place(link) {
    const at = link.getBoundingClientRect();
    const width = tip.getBoundingClientRect().width;
    tip.style.left = Math.max(8, Math.min(at.left, window.innerWidth - width - 8)) + "px";
    const below = at.bottom + 6;
    const height = tip.getBoundingClientRect().height;
    tip.style.top = (below + height < window.innerHeight ? below : Math.max(8, at.top - height - 6)) + "px";
  }
  const hide = () => { if (tip) tip.hidden = true; shownFor = null; };
  const marker = (event) => event.target.closest?.(".cmo-cite");
  document.addEventListener("mouseover", (e) => { const l = marker(e); if (l) preview(l); }, true);
  document.addEventListener("mouseout", (e) => { if (marker(e)) hide(); }, true);
  document.addEventListener("focusin", (e) => { const l = marker(e); if (l) preview(l); else hide(); }, true);
  document.addEventListener("focusout", (e) => { if (marker(e)) hide(); }, true);
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    hide();
    closeSheet();
  }, true);
  document.addEventListener("scroll", () => {
    if (shownFor?.isConnected) place(shownFor);
    else hide();
  }, true);

  // Enter on an empty question box does nothing (no empty bubble, no error).
  document.addEventListener("keydown", (e) => {
    const box = e.target.closest?.("#question textarea");
    if (box && e.key === "Enter" && !e.shiftKey && !box.value.trim()) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  // The chat labels each message with its content as HTML; a screen reader gets its text instead.
  const plain = (el) => (el.innerText || el.textContent || "").replace(/\s+/g, " ").trim();
  function relabel() {
    // The starter questions are buttons, not list items; the Sources panel scrolls, so it takes focus.
    document.querySelectorAll("#chat .examples[role='list']").forEach((el) => {
      el.setAttribute("role", "group");
      el.setAttribute("aria-label", "Starter questions");
    });
    // The upload area is a button holding the file input: the input is reached through the button only.
    document.querySelectorAll("#upload button[aria-label='common.upload']").forEach((el) => {
      el.setAttribute("aria-label", "Add policy documents: choose files or drop them here");
      el.querySelectorAll("input").forEach((input) => input.setAttribute("tabindex", "-1"));
    });
    const box = panel();
    if (box && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", "Sources");
    }
    document.querySelectorAll("#chat [data-testid='bot'], #chat [data-testid='user']").forEach((el) => {
      const who = el.dataset.testid === "user" ? "Question: " : "Answer: ";
      const label = who + plain(el);
      if (el.getAttribute("aria-label") !== label) el.setAttribute("aria-label", label);
    });
  }
  new MutationObserver(relabel).observe(document.body, {subtree: true, childList: true, characterData: true});

  // When a new question appears, the chat scrolls so that it is at the top and its answer reads down from it.
  // The answer arrives (and grows) after the question, so the question is kept there at every change to the
  // chat until the reader scrolls, drags, taps or uses the keys in it; the chat gets room below its last
  // message for that (a short answer would otherwise leave the question low), as much as its answer does not
  // fill yet, so the chat's length stays the same while the answer is written.
  let questions = 0;
  let pinned = false;
  const lastQuestion = () => {
    const asked = document.querySelectorAll("#chat [data-testid='user']");
    return asked.length > 1 ? asked[asked.length - 1] : null;  // the first question is at the top already
  };
  let roomy = null;
  function makeRoom(question) {
    const scroller = question && scrollBox(question);
    if (roomy && roomy !== scroller) roomy.style.removeProperty("--cmo-room");
    roomy = scroller;
    if (!scroller) return;
    scroller.classList.add("cmo-room");
    const room = parseFloat(scroller.style.getPropertyValue("--cmo-room")) || 0;
    const top = question.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop;
    const below = scroller.scrollHeight - room - (top - 8);
    const needed = Math.max(0, Math.ceil(scroller.clientHeight - below));
    if (needed !== room) scroller.style.setProperty("--cmo-room", needed + "px");
  }
  function keepAtTop() {
    const question = lastQuestion();
    makeRoom(question);
    if (!pinned || !question) return;
    const scroller = scrollBox(question);
    const off = question.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 8;
    if (Math.abs(off) > 1) scroller.scrollTop += off;
  }
  new MutationObserver((changes) => {
    const chat = document.getElementById("chat");
    if (!chat || !changes.some((change) => chat.contains(change.target))) return;
    const asked = chat.querySelectorAll("[data-testid='user']").length;
    if (asked !== questions) {
      pinned = asked > questions;
      questions = asked;
    }
    keepAtTop();
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
  // The reader's own scrolling (or a tap, a click on a marker) ends it until the next question.
  const letGo = (event) => { if (event.target.closest?.("#chat")) pinned = false; };
  for (const type of ["wheel", "touchstart", "pointerdown"]) {
    document.addEventListener(type, letGo, {capture: true, passive: true});
  }
  document.addEventListener("keydown", (event) => {
    if (!/^(Arrow(Up|Down)|Page(Up|Down)|Home|End| )$/.test(event.key)) return;
    if (!event.target.closest?.("textarea, input, [contenteditable='true']")) pinned = false;
  }, true);

  // On a phone, a document opened from the list is scrolled into view (it is below the list there).
  let shownDocument = "";
  new MutationObserver(() => {
    const doc = document.querySelector("#doc-view .cmo-document");
    const shown = doc ? doc.textContent.slice(0, 200) : "";
    if (shown === shownDocument) return;
    shownDocument = shown;
    if (doc && phone()) doc.scrollIntoView({block: "start"});
  }).observe(document.body, {subtree: true, childList: true});
}
