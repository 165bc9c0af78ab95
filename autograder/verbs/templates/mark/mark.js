// The marking page's behaviour (autograder.verbs.mark): scores by click or key, saved at once.
// Served as a file, never inline: the page's Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  const page = document.body.dataset;
  if (!page.question) return;
  const max = parseFloat(page.max);
  const cards = Array.from(document.querySelectorAll("article.card"));
  const progress = document.getElementById("progress");
  let current = -1;

  function select(index) {
    if (!cards.length) return;
    current = Math.max(0, Math.min(cards.length - 1, index));
    cards.forEach((card, i) => card.classList.toggle("current", i === current));
    cards[current].focus({preventScroll: true});
    cards[current].scrollIntoView({block: "nearest"});
  }

  function ticked(card) {
    return Array.from(card.querySelectorAll("input[data-item]:checked")).map((box) => parseInt(box.dataset.item, 10));
  }

  function show(card, points) {
    card.dataset.points = points === null ? "" : String(points);
    card.classList.toggle("marked", points !== null);
    card.querySelectorAll("button.score").forEach((button) =>
      button.classList.toggle("chosen", points !== null && parseFloat(button.dataset.score) === points));
  }

  async function send(card, points, clear, before) {
    const state = card.querySelector(".state");
    state.classList.remove("error");
    state.textContent = "saving…";
    const body = {question: page.question, group: card.dataset.group, points: points, clear: !!clear,
                  comment: card.querySelector(".comment").value, rubric: ticked(card)};
    try {
      const response = await fetch(`/${page.token}/api/mark`, {
        method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error || response.statusText);
      show(card, clear ? null : points);
      state.textContent = clear ? "not marked" : `marked: ${points} (saved)`;
      progress.textContent = `${answer.marked} of ${answer.total} marked`;
    } catch (error) {
      if (before !== undefined) show(card, before);  // the card shows what is saved, not what failed
      state.classList.add("error");
      state.textContent = `NOT SAVED: ${error.message}`;
    }
  }

  function score(card, points) {
    if (!(points >= 0 && points <= max)) return;
    const before = currentPoints(card);
    show(card, points);
    send(card, points, false, before);
  }

  function currentPoints(card) {
    return card.dataset.points === "" ? null : parseFloat(card.dataset.points);
  }

  cards.forEach((card, index) => {
    card.addEventListener("click", () => { if (current !== index) select(index); });
    card.querySelectorAll("button.score").forEach((button) =>
      button.addEventListener("click", () => score(card, parseFloat(button.dataset.score))));
    card.querySelector("button.clear").addEventListener("click", () => send(card, null, true));
    card.querySelectorAll("input[data-item]").forEach((box) => box.addEventListener("change", () => {
      const sum = Array.from(card.querySelectorAll("input[data-item]:checked"))
        .reduce((total, item) => total + parseFloat(item.dataset.points), 0);
      score(card, sum);
    }));
    const comment = card.querySelector(".comment");
    comment.addEventListener("change", () => {
      const points = currentPoints(card);
      if (points !== null) send(card, points, false);
      else card.querySelector(".state").textContent = "give a score to save the comment";
    });
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.tagName === "TEXTAREA") {
      if (event.key === "Escape") { event.target.blur(); select(current); }
      return;
    }
    if (current < 0) { select(0); }
    const card = cards[current];
    if (!card) return;
    if (/^[0-9]$/.test(event.key)) score(card, parseInt(event.key, 10));
    else if (event.key === ".") { const points = currentPoints(card); score(card, (points === null ? 0 : Math.floor(points)) + 0.5); }
    else if (event.key === "j" || event.key === "ArrowDown") select(current + 1);
    else if (event.key === "k" || event.key === "ArrowUp") select(current - 1);
    else if (event.key === "n") {
      const next = cards.findIndex((c, i) => i > current && c.dataset.points === "");
      if (next >= 0) select(next);
    } else if (event.key === "c") card.querySelector(".comment").focus();
    else if (event.key === "u") send(card, null, true);
    else return;
    event.preventDefault();
  });

  if (cards.length) select(0);
})();
