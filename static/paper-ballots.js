// Paper ballots typed in (录入纸质票): once a cell holds its one character the cursor moves
// on, so a ballot is its characters and Enter; Backspace in an empty cell goes back. Without
// this file the form works the same with Tab. A Tab pressed out of habit right after the
// cursor moved by itself is swallowed: it would skip a cell and shift the rest of the ballot.
(function () {
  var ONE = /^[0-4０-４优合基不弃-]$/;
  function isCell(element) { return element.matches && element.matches(".rt-cell input"); }
  function cells(form) { return Array.prototype.slice.call(form.querySelectorAll(".rt-cell input")); }
  function move(cell, step) {
    var all = cells(cell.form), other = all[all.indexOf(cell) + step];
    if (other) { other.focus(); other.select(); }
    return Boolean(other);
  }
  var movedTo = null;  // the cell the cursor moved to by itself, until something is typed
  function advance(event) {
    var cell = event.target;
    if (!isCell(cell)) { return; }
    movedTo = null;
    if (event.isComposing || !ONE.test(cell.value.trim())) { return; }
    if (move(cell, 1)) { movedTo = document.activeElement; }
  }
  // A refused ballot comes back with the first bad cell focused: its character selected, so
  // the right one typed replaces it.
  var bad = document.querySelector(".rt-cell-bad input");
  if (bad) { bad.focus(); bad.select(); }
  document.addEventListener("input", advance);
  document.addEventListener("compositionend", advance);  // 优 合 基 不 typed with an IME
  document.addEventListener("keydown", function (event) {
    var cell = event.target;
    if (event.key === "Tab" && !event.shiftKey && cell === movedTo && !cell.value) {
      movedTo = null;
      event.preventDefault();
      return;
    }
    if (event.key !== "Tab") { movedTo = null; }
    if (event.key === "Backspace" && isCell(cell) && !cell.value && move(cell, -1)) {
      event.preventDefault();
    }
  });
}());
