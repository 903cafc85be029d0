// The 打印 button of a printed notice (a file of its own: the pages allow no inline script).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) { window.print(); }
});
